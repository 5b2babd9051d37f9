"""The generation contract: the GenerateLogo command and the events that report on it."""

import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.base import Command, Event

MAX_PROMPT_LENGTH = 1000
MAX_SEED = 2**32 - 1
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c2a4e-3b1d-4c55-9a43-0d2c8f7e9b10")


def job_id_for(user_id: str, idempotency_key: str | None) -> str:
    """The job id of a submission: fresh without a key, the same for the same user and key.

    The API names keyed jobs with it, so a client that sends an `Idempotency-Key` knows the job id before
    the answer comes (the bot records where a result goes before the job can finish).
    """
    if idempotency_key is None:
        return uuid.uuid4().hex
    return uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{user_id}\n{idempotency_key}").hex


def _multiple_of_8(name: str, value: int) -> int:
    if value % 8:
        raise ValueError(f"{name} must be a multiple of 8, got {value}")
    return value


DEFAULT_VARIATION_STRENGTH = 0.55

Scheduler = Literal["default", "dpm++_2m_karras", "euler_a", "ddim", "unipc"]
SCHEDULERS: tuple[Scheduler, ...] = ("default", "dpm++_2m_karras", "euler_a", "ddim", "unipc")


class GenerationParams(BaseModel):
    """What to draw and how: the request body of the seed's `/generate`, validated with its limits."""

    # `strength` only with `variation_of`, said in the schema as well (JSON Schema's dependentRequired).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"dependentRequired": {"strength": ["variation_of"]}})

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_LENGTH)
    negative_prompt: str | None = Field(default=None, max_length=MAX_PROMPT_LENGTH)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description="Chosen and returned when absent.")
    num_images: int = Field(default=1, ge=1, le=8)
    height: int = Field(default=512, ge=64, le=1024, json_schema_extra={"multipleOf": 8})
    width: int = Field(default=512, ge=64, le=1024, json_schema_extra={"multipleOf": 8})
    num_steps: int = Field(default=30, ge=1, le=150)
    guidance_scale: float = Field(default=7.5, ge=0, le=30, strict=True)  # strict: `false` is not 0
    adapter: str | None = Field(
        default=None,
        max_length=64,
        description="LoRA adapter version to use; 'none' for the base model; absent for the one in service.",
    )
    scheduler: Scheduler = Field(
        default="default",
        description="The denoising scheduler: the model's own ('default'), or one that reaches the same quality in "
        "fewer steps (dpm++_2m_karras: about 20-25 steps).",
    )
    variation_of: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:-]{1,120}-[0-7]$",
        description="An image id: draw image-to-image from it, a variation that keeps its composition.",
    )
    strength: float | None = Field(
        default=None,
        ge=0.2,
        le=0.9,
        strict=True,
        description="With `variation_of`: how far the variation may depart from its image (default 0.55).",
    )

    @model_validator(mode="after")
    def _strength_needs_an_image(self) -> Self:
        if self.strength is not None and self.variation_of is None:
            raise ValueError("strength: only for a variation (set variation_of)")
        return self

    @property
    def variation_strength(self) -> float:
        return DEFAULT_VARIATION_STRENGTH if self.strength is None else self.strength

    @property
    def denoising_steps(self) -> int:
        """The steps actually run: a variation starts part-way, at its strength."""
        if self.variation_of is None:
            return self.num_steps
        return max(1, int(self.num_steps * self.variation_strength))

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt must not be blank")
        return value

    @field_validator("height", "width")
    @classmethod
    def _size_multiple_of_8(cls, value: int, info) -> int:
        return _multiple_of_8(info.field_name, value)

    @field_validator("seed", "num_images", "height", "width", "num_steps", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: Any, info) -> Any:
        if isinstance(value, bool):  # lax integers would read `false` as 0 and `true` as 1
            raise ValueError(f"{info.field_name} must be an integer, not {str(value).lower()}")
        return value


class Channel(StrEnum):
    API = "api"
    TELEGRAM = "telegram"
    INTERNAL = "internal"


class Requester(BaseModel):
    """Who asked: where the answer should go."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel = Channel.INTERNAL
    user_id: str = Field(default="anonymous", min_length=1, max_length=64)
    chat_id: int | None = None


class GenerateLogo(Command):
    """Draw `params.num_images` logos for one job. `correlation_id` is the job id."""

    routing_key = "generate"

    params: GenerationParams
    requester: Requester = Field(default_factory=Requester)
    idempotency_key: str | None = Field(default=None, max_length=128)


class ImageRef(BaseModel):
    """One generated image: its id, S3 key and NSFW flag; in LogoGenerated also a signed link to fetch it."""

    image_id: str
    index: int
    key: str
    nsfw: bool = False
    url: str | None = Field(
        default=None,
        description="A signed HTTP link to the PNG, valid without a key until it expires; set in LogoGenerated when "
        "the generator knows the API's public URL.",
    )


class GenerationStarted(Event):
    routing_key = "generation.started"

    total_steps: int
    seed: int


class GenerationProgress(Event):
    routing_key = "generation.progress"

    step: Annotated[int, Field(ge=0)]
    total_steps: int


class LogoGenerated(Event):
    routing_key = "generation.completed"

    requester: Requester
    params: GenerationParams
    seed: int
    images: list[ImageRef]
    nsfw_checked: bool = Field(description="False when the model has no safety checker: flags are then all false.")
    model: str
    adapter: str | None = None


FailureKind = Literal["invalid", "error"]


class GenerationFailed(Event):
    routing_key = "generation.failed"

    requester: Requester | None = None
    reason: str
    kind: FailureKind = "error"


class GenerationCancelled(Event):
    """The job's owner (or an admin) cancelled it: it draws no further and stores nothing. Announced once, by
    the API; a generator drawing the job stops it."""

    routing_key = "generation.cancelled"

    requester: Requester | None = None


GenerationEvent = GenerationStarted | GenerationProgress | LogoGenerated | GenerationFailed | GenerationCancelled

_GENERATION_EVENTS: dict[str, type[GenerationEvent]] = {
    event_type.routing_key: event_type
    for event_type in (GenerationStarted, GenerationProgress, LogoGenerated, GenerationFailed, GenerationCancelled)
}


def parse_generation_event(routing_key: str, body: dict[str, Any]) -> GenerationEvent | None:
    """The generation event published under `routing_key`, validated; None for a key of no generation event."""
    event_type = _GENERATION_EVENTS.get(routing_key)
    return None if event_type is None else event_type.model_validate(body)
