"""A logo's assets: `GET /images/{id}/assets` (signed links, palette, what failed), `GET /images/{id}/kit.zip`, and
its variations (`POST /images/{id}/variations`, image-to-image).

The assets worker makes them after each generation. For an image drawn before it ran, the first request asks for
them (MakeAssets) and answers 202; asking again later finds them.
"""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from schemas.assets import MakeAssets, PaletteColour
from schemas.generation import DEFAULT_VARIATION_STRENGTH, MAX_PROMPT_LENGTH, GenerationParams
from services.api.deps import ApiContext, BaseUrl, Context, CurrentCaller
from services.api.errors import refusals
from services.api.routes.jobs import IdempotencyKey, accepted
from services.api.security import Caller
from services.api.submission import submit
from services.api.views import Accepted

router = APIRouter(tags=["assets"])

ImageId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


class AssetsView(BaseModel):
    image_id: str
    files: dict[str, str] = Field(description="svg, transparent_png, kit: signed links to those that were made.")
    palette: list[PaletteColour] | None = Field(description="Dominant colours, largest share first.")
    failures: dict[str, str] = Field(description="Asset name: why it could not be made.")
    svg_mismatch: float | None = Field(
        description="Share of pixels where the SVG, rendered back, differs from the PNG (a pixel differs when a "
        "channel is more than 40 of 255 away); at most 0.04 or there is no SVG."
    )


class AssetsPending(BaseModel):
    image_id: str
    status: str = "making"
    detail: str


async def _image(context: ApiContext, caller: Caller, image_id: str) -> dict[str, Any]:
    image = await context.db.images.find_one({"_id": image_id})
    if image is None or not caller.may_read(image.get("user_id", "")):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no image {image_id}")
    return image


async def _pending(context: ApiContext, image: dict[str, Any]) -> JSONResponse:
    """Ask the assets worker for this image's assets (idempotent: it makes them once) and say so."""
    await context.gateway.publish(MakeAssets(correlation_id=image["job_id"], image_id=image["_id"]))
    pending = AssetsPending(image_id=image["_id"], detail="the assets are being made; ask again in a few seconds")
    return JSONResponse(pending.model_dump(), status_code=status.HTTP_202_ACCEPTED, headers={"Retry-After": "3"})


@router.get(
    "/images/{image_id}/assets",
    response_model=AssetsView,
    responses={
        202: {"model": AssetsPending, "description": "Not made yet: asked for; ask again shortly."},
        **refusals(not_found="No image of that id readable by this caller."),
    },
)
async def image_assets(image_id: ImageId, context: Context, caller: CurrentCaller, base_url: BaseUrl) -> Any:
    image = await _image(context, caller, image_id)
    record = await context.db.image_assets.find_one({"_id": image_id})
    if record is None:
        return await _pending(context, image)
    return AssetsView(
        image_id=image_id,
        files={name: context.signer.sign(base_url, key) for name, key in record["files"].items()},
        palette=record["palette"],
        failures=record["failures"],
        svg_mismatch=record["svg_mismatch"],
    )


@router.get(
    "/images/{image_id}/kit.zip",
    status_code=status.HTTP_307_TEMPORARY_REDIRECT,
    responses={
        202: {"model": AssetsPending},
        307: {"description": "To the brand kit's signed link."},
        **refusals(not_found="No image of that id, or its kit could not be made."),
    },
)
async def brand_kit(image_id: ImageId, context: Context, caller: CurrentCaller, base_url: BaseUrl) -> Any:
    image = await _image(context, caller, image_id)
    record = await context.db.image_assets.find_one({"_id": image_id})
    if record is None:
        return await _pending(context, image)
    if "kit" not in record["files"]:
        reason = record["failures"].get("kit", "it was not made")
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no brand kit for {image_id}: {reason}")
    return RedirectResponse(context.signer.sign(base_url, record["files"]["kit"]), status.HTTP_307_TEMPORARY_REDIRECT)


class VariationRequest(BaseModel):
    """What may change from the image's own parameters; all optional."""

    model_config = ConfigDict(extra="forbid")

    prompt: str | None = Field(default=None, min_length=1, max_length=MAX_PROMPT_LENGTH)
    strength: float = Field(default=DEFAULT_VARIATION_STRENGTH, ge=0.2, le=0.9, strict=True)
    num_images: int = Field(default=4, ge=1, le=8)


@router.post(
    "/images/{image_id}/variations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=refusals(not_found="No image of that id readable by this caller."),
)
async def variations(
    image_id: ImageId,
    context: Context,
    caller: CurrentCaller,
    base_url: BaseUrl,
    body: VariationRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    """Image-to-image from this logo: its job's parameters (the prompt unless given), four new seeds, starting from
    the logo at `strength`; a job like any other, whose record names the image it varies."""
    image = await _image(context, caller, image_id)
    job = await context.jobs.get(image["job_id"])
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no image {image_id}")
    request = body or VariationRequest()
    values = job.params.model_dump() | {
        "prompt": request.prompt or job.params.prompt,
        "variation_of": image_id,
        "strength": request.strength,
        "num_images": request.num_images,
        "seed": None,
    }
    command, record = await submit(context, caller, GenerationParams(**values), idempotency_key)
    return accepted(base_url, command.correlation_id, record.status)
