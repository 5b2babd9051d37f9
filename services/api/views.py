"""Response models of the generation endpoints, built from job records and events."""

from pydantic import BaseModel

from schemas.generation import GenerationParams, ImageRef, LogoGenerated
from services.signing import UrlSigner
from services.storage.jobs import JobRecord


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


def image_views(signer: UrlSigner, base_url: str, images: list[ImageRef]) -> list[ImageView]:
    return [
        ImageView(image_id=image.image_id, url=signer.sign(base_url, image.key), nsfw=image.nsfw) for image in images
    ]


def job_view(signer: UrlSigner, base_url: str, record: JobRecord) -> JobView:
    return JobView(
        job_id=record.job_id,
        status=record.status,
        progress=record.progress.model_dump(),
        params=record.params,
        seed=record.seed,
        images=image_views(signer, base_url, record.images),
        nsfw_checked=record.nsfw_checked,
        model=record.model,
        adapter=record.adapter,
        error=record.error,
    )


def generate_response(signer: UrlSigner, base_url: str, done: LogoGenerated) -> GenerateResponse:
    """The seed-shaped answer from the job's LogoGenerated event."""
    return _generate_response(
        signer,
        base_url,
        done.correlation_id,
        done.params,
        done.seed,
        done.images,
        done.nsfw_checked,
        done.model,
        done.adapter,
    )


def generate_response_from_record(signer: UrlSigner, base_url: str, record: JobRecord) -> GenerateResponse:
    """The same answer for a job that succeeded before: a repeated idempotency key is answered as the first."""
    if record.seed is None:
        raise ValueError(f"job {record.job_id} has no seed: it has not succeeded")
    return _generate_response(
        signer,
        base_url,
        record.job_id,
        record.params,
        record.seed,
        record.images,
        bool(record.nsfw_checked),
        record.model or "",
        record.adapter,
    )


def _generate_response(
    signer: UrlSigner,
    base_url: str,
    job_id: str,
    params: GenerationParams,
    seed: int,
    images: list[ImageRef],
    nsfw_checked: bool,
    model: str,
    adapter: str | None,
) -> GenerateResponse:
    return GenerateResponse(
        job_id=job_id,
        images=[view.url for view in image_views(signer, base_url, images)],
        nsfw_content_detected=[image.nsfw for image in images],
        nsfw_checked=nsfw_checked,
        prompt=params.prompt,
        negative_prompt=params.negative_prompt,
        seed=seed,
        num_images=params.num_images,
        height=params.height,
        width=params.width,
        num_steps=params.num_steps,
        guidance_scale=params.guidance_scale,
        model=model,
        adapter=adapter,
        note=None if nsfw_checked else "no safety checker ran: the model has none, so every flag is false",
    )
