"""A logo's assets: `GET /images/{id}/assets` (signed links, palette, what failed), `GET /images/{id}/kit.zip`, and
its variations (`POST /images/{id}/variations`, image-to-image).

The assets worker makes them after each generation. For an image drawn before it ran, the first request asks for
them (MakeAssets) and answers 202; asking again later finds them. Polls in between ask nothing more: the request is
recorded, and asked again only once REASK_AFTER has passed without the assets (a worker that was down, a command
that was lost).
"""

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.assets import MakeAssets, PaletteColour
from schemas.base import utcnow
from schemas.generation import DEFAULT_VARIATION_STRENGTH, MAX_PROMPT_LENGTH, GenerationParams
from services.api.deps import ApiContext, BaseUrl, Context, CurrentCaller
from services.api.errors import refusals
from services.api.ratings_views import Family, HistoryItem, ImageLink, history_item
from services.api.routes.history import variation_counts
from services.api.routes.jobs import IdempotencyKey, accepted
from services.api.security import Caller
from services.api.submission import submit
from services.api.views import Accepted
from services.storage.history import HistoryStore
from services.storage.mongo import translated_errors
from services.storage.ratings import RatingStore

router = APIRouter(tags=["assets"])

REASK_AFTER = timedelta(seconds=60)


async def create_asset_request_indexes(db: AsyncDatabase) -> None:
    # A request is only a guard against asking again; MongoDB forgets it a day later.
    await db.asset_requests.create_index([("requested_at", ASCENDING)], expireAfterSeconds=86_400)


ImageId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


class AssetsView(BaseModel):
    image_id: str
    files: dict[str, str] = Field(
        description="svg, transparent_svg (the SVG without its background), transparent_png, kit: signed links to "
        "those that were made."
    )
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
    """Ask the assets worker for this image's assets, unless that was asked less than REASK_AFTER ago, and say so."""
    if await _first_ask(context.db, image["_id"]):
        try:
            await context.gateway.publish(MakeAssets(correlation_id=image["job_id"], image_id=image["_id"]))
        except BaseException:
            async with translated_errors("asset request"):  # not asked after all: the next poll asks
                await context.db.asset_requests.delete_one({"_id": image["_id"]})
            raise
    pending = AssetsPending(image_id=image["_id"], detail="the assets are being made; ask again in a few seconds")
    return JSONResponse(pending.model_dump(), status_code=status.HTTP_202_ACCEPTED, headers={"Retry-After": "3"})


async def _first_ask(db: AsyncDatabase, image_id: str) -> bool:
    """Record that the image's assets are asked for now; False when they were asked for less than REASK_AFTER ago.
    Concurrent polls meet on the record's id: one of them asks."""
    now = utcnow()
    try:
        async with translated_errors("asset request"):
            await db.asset_requests.update_one(
                {"_id": image_id, "requested_at": {"$lt": now - REASK_AFTER}},
                {"$set": {"requested_at": now}},
                upsert=True,
            )
    except DuplicateKeyError:  # a recent request holds the id
        return False
    return True


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


class FamilyView(BaseModel):
    """An image with the image it varies (if any) and the variations drawn from it."""

    image_id: str
    job_id: str
    url: str
    variation_of: ImageLink | None
    variations: list[HistoryItem] = Field(description="Jobs drawn from this image, newest first.")


@router.get(
    "/images/{image_id}/variations",
    response_model=FamilyView,
    responses=refusals(not_found="No image of that id readable by this caller."),
)
async def family(image_id: ImageId, context: Context, caller: CurrentCaller, base_url: BaseUrl) -> FamilyView:
    """The logo's family: the image it was varied from, and every variation drawn from it that the caller may read,
    each with its images and their ratings."""
    image = await _image(context, caller, image_id)
    children = [
        job
        for job in await HistoryStore(context.db).variations([image_id])
        if caller.may_read(job["requester"]["user_id"])
    ]
    own = await context.jobs.get(image["job_id"])
    parent_id = own.params.variation_of if own is not None else None
    parent = await context.db.images.find_one({"_id": parent_id}) if parent_id else None
    child_images = [child["image_id"] for job in children for child in job.get("images", [])]
    scores = await RatingStore(context.db).aggregates(child_images)
    # Each variation's own variations are counted as its caller may read them; the image they all vary is this one.
    counted = await variation_counts(context.db, child_images, None if caller.is_admin else caller.user_id)
    grandchildren = Family(counted, {image_id: image})
    return FamilyView(
        image_id=image_id,
        job_id=image["job_id"],
        url=context.signer.sign(base_url, image["key"]),
        variation_of=ImageLink.of(
            context.signer, base_url, parent if parent and caller.may_read(parent.get("user_id", "")) else None
        ),
        variations=[history_item(context.signer, base_url, job, scores, {}, grandchildren) for job in children],
    )


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
