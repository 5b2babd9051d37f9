"""Response models of the generation endpoints, built from job records and events."""

from typing import Any

from pydantic import BaseModel

from schemas.generation import GenerationParams
from services.api.security import UrlSigner


class ImageView(BaseModel):
    image_id: str
    url: str
    nsfw: bool


class JobView(BaseModel):
    job_id: str
    status: str
    progress: dict[str, int]
    params: GenerationParams
    seed: int | None = None
    images: list[ImageView] = []
    nsfw_checked: bool | None = None
    model: str | None = None
    adapter: str | None = None
    error: str | None = None


class GenerateResponse(BaseModel):
    """The seed's answer: image URLs and NSFW flags with the echoed parameters, plus what a client needs next."""

    job_id: str
    images: list[str]
    nsfw_content_detected: list[bool]
    nsfw_checked: bool
    prompt: str
    negative_prompt: str | None
    seed: int
    num_images: int
    height: int
    width: int
    num_steps: int
    guidance_scale: float
    model: str
    adapter: str | None
    note: str | None = None


class Accepted(BaseModel):
    job_id: str
    status: str
    status_url: str
    events_url: str


def image_views(signer: UrlSigner, base_url: str, images: list[dict[str, Any]]) -> list[ImageView]:
    return [
        ImageView(image_id=image["image_id"], url=signer.sign(base_url, image["key"]), nsfw=image.get("nsfw", False))
        for image in images
    ]


def job_view(signer: UrlSigner, base_url: str, record: dict[str, Any]) -> JobView:
    return JobView(
        job_id=record["_id"],
        status=record["status"],
        progress=record.get("progress", {}),
        params=GenerationParams(**record["params"]),
        seed=record.get("seed"),
        images=image_views(signer, base_url, record.get("images", [])),
        nsfw_checked=record.get("nsfw_checked"),
        model=record.get("model"),
        adapter=record.get("adapter"),
        error=record.get("error"),
    )


def generate_response(signer: UrlSigner, base_url: str, done: dict[str, Any]) -> GenerateResponse:
    """Build the seed-shaped answer from a LogoGenerated event body."""
    params = done["params"]
    nsfw_checked = done["nsfw_checked"]
    return GenerateResponse(
        job_id=done["correlation_id"],
        images=[view.url for view in image_views(signer, base_url, done["images"])],
        nsfw_content_detected=[image["nsfw"] for image in done["images"]],
        nsfw_checked=nsfw_checked,
        prompt=params["prompt"],
        negative_prompt=params.get("negative_prompt"),
        seed=done["seed"],
        num_images=params["num_images"],
        height=params["height"],
        width=params["width"],
        num_steps=params["num_steps"],
        guidance_scale=params["guidance_scale"],
        model=done["model"],
        adapter=done.get("adapter"),
        note=None if nsfw_checked else "no safety checker ran: the model has none, so every flag is false",
    )
