"""The training contract: TrainAdapter in; training progress, AdapterTrained, AdapterPromoted out."""

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.base import Command, Event


class TrainingConfig(BaseModel):
    """Hyper-parameters of one LoRA run, with their limits."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["lora", "dreambooth"] = "lora"
    rank: int = Field(default=4, ge=1, le=256)
    alpha: float = Field(default=4.0, gt=0, le=512)
    learning_rate: float = Field(default=1e-4, gt=0, le=1)
    max_steps: int = Field(default=2000, ge=1, le=100_000)
    batch_size: int = Field(default=1, ge=1, le=64)
    gradient_accumulation_steps: int = Field(default=1, ge=1, le=128)
    resolution: int = Field(default=512, ge=64, le=1024, multiple_of=8)
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    gradient_checkpointing: bool = False
    train_text_encoder: bool = False
    snr_gamma: float | None = Field(default=None, gt=0, le=20)
    seed: int = Field(default=0, ge=0)
    checkpoint_every: int = Field(default=500, ge=1)
    validate_every: int | None = Field(default=None, ge=1, description="Steps between validations; per epoch if unset.")
    validation_prompts: list[str] = Field(default_factory=list, max_length=16)
    instance_prompt: str | None = Field(default=None, max_length=500)
    class_prompt: str | None = Field(default=None, max_length=500)
    prior_loss_weight: float = Field(default=1.0, ge=0)
    num_class_images: int = Field(default=50, ge=1, le=1000, description="DreamBooth prior-preservation images.")
    inference_steps: int = Field(default=25, ge=1, le=150, description="For validation and class images.")
    heldout_fraction: float = Field(default=0.1, gt=0, lt=1, description="Share of the data kept for held-out loss.")

    @model_validator(mode="after")
    def _dreambooth_needs_instance_prompt(self) -> Self:
        if self.mode == "dreambooth" and not (self.instance_prompt and self.instance_prompt.strip()):
            raise ValueError("instance_prompt is required when mode is 'dreambooth'")
        if self.class_prompt is not None and self.mode != "dreambooth":
            raise ValueError("class_prompt (prior preservation) is only used when mode is 'dreambooth'")
        return self


class TrainAdapter(Command):
    """Train a LoRA adapter on the selected rated images plus named datasets. correlation_id: the run id."""

    routing_key = "train"

    run_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    image_ids: list[str] = Field(default_factory=list)
    datasets: list[str] = Field(default_factory=list)
    config: TrainingConfig = Field(default_factory=TrainingConfig)
    reason: Literal["threshold", "manual"] = "threshold"


class TrainingProgress(Event):
    routing_key = "training.progress"

    run_id: str
    step: int
    max_steps: int
    loss: float
    seconds_left: float | None = None


class AdapterTrained(Event):
    routing_key = "adapter.trained"

    run_id: str
    version: str
    s3_key: str
    metrics: dict[str, float]


class TrainingFailed(Event):
    routing_key = "training.failed"

    run_id: str
    reason: str


class AdapterLoaded(Event):
    """A generator now serves `version` (None: the base model). correlation_id: the version or 'none'."""

    routing_key = "adapter.loaded"

    version: str | None
    worker: str


class AdapterPromoted(Event):
    """Every generator loads this adapter between jobs; version None means the base model."""

    routing_key = "adapter.promoted"

    version: str | None
    s3_key: str | None = None
    previous_version: str | None = None
