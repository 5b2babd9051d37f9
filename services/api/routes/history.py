"""A user's history: `GET /users/{id}/history`, `DELETE /users/{id}/history/{job}`, `POST /jobs/{id}/regenerate`."""

from copy import copy
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from pymongo.asynchronous.database import AsyncDatabase

from schemas.generation import GenerationParams
from services.api.deps import BaseUrl, Context, CurrentCaller
from services.api.errors import refusals, unprocessable, unprocessable_from
from services.api.ratings_views import Family, HistoryPage, history_item
from services.api.routes.jobs import IdempotencyKey, accepted, owned_job
from services.api.security import Caller
from services.api.submission import submit
from services.api.views import Accepted
from services.storage.history import HistoryStore, InvalidCursor, PageCursor
from services.storage.mongo import translated_errors
from services.storage.ratings import RatingStore

router = APIRouter(tags=["history"])

UserId = Annotated[str, Path(min_length=1, max_length=64)]


def _optional_fields(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s fields as create_model takes them, each with its type and limits but none required.

    A field that is not nullable in `model` is not nullable here either: `{"height": null}` is refused by
    both, and the schema says so.
    """
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        optional = copy(field)
        optional.default, optional.default_factory = None, None
        fields[name] = (field.annotation, optional)
    return fields


# The body of a regenerate request: any GenerationParams field, all optional; what is absent is kept.
if TYPE_CHECKING:  # a model made at runtime is no type to mypy; to it the body is a plain model
    ParamChanges = BaseModel
else:
    ParamChanges = create_model(
        "ParamChanges", __config__=ConfigDict(extra="forbid"), **_optional_fields(GenerationParams)
    )


def _may_read(caller: Caller, user_id: str) -> None:
    if not caller.may_read(user_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"user_id: you act for {caller.user_id}, not {user_id}")


@router.get("/users/{user_id}/history", response_model=HistoryPage)
async def history(
    user_id: UserId,
    context: Context,
    caller: CurrentCaller,
    base_url: BaseUrl,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page.")] = None,
) -> HistoryPage:
    """The user's generations, newest first: prompt, parameters, images (signed URLs) and their ratings."""
    _may_read(caller, user_id)
    try:
        cursor = PageCursor.decode(before) if before else None
    except InvalidCursor as error:
        raise unprocessable("before", str(error).removeprefix("before: "), "query") from None
    jobs, next_cursor = await HistoryStore(context.db).page(user_id, limit, cursor)
    image_ids = [image["image_id"] for job in jobs for image in job.get("images", [])]
    ratings = RatingStore(context.db)
    scores = await ratings.aggregates(image_ids)
    own = await ratings.ratings_by(user_id, image_ids)
    family = Family(await variation_counts(context.db, image_ids, user_id), await _parents(context.db, jobs))
    return HistoryPage(
        items=[history_item(context.signer, base_url, job, scores, own, family) for job in jobs],
        next_cursor=next_cursor.encode() if next_cursor else None,
    )


async def variation_counts(db: AsyncDatabase, image_ids: list[str], user_id: str | None) -> dict[str, int]:
    """How many visible variations each of these images has (by `user_id`, when given)."""
    counts: dict[str, int] = {}
    for child in await HistoryStore(db).variations(image_ids, user_id, fields={"params.variation_of": 1}):
        parent_id = child["params"]["variation_of"]
        counts[parent_id] = counts.get(parent_id, 0) + 1
    return counts


async def _parents(db: AsyncDatabase, jobs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The image records these jobs vary, by id."""
    parent_ids = list({job["params"]["variation_of"] for job in jobs if job["params"].get("variation_of")})
    if not parent_ids:
        return {}
    async with translated_errors("variation parents"):
        return {image["_id"]: image async for image in db.images.find({"_id": {"$in": parent_ids}})}


@router.delete(
    "/users/{user_id}/history/{job_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=refusals(not_found="No such job in that user's history."),
)
async def delete_history_item(user_id: UserId, job_id: str, context: Context, caller: CurrentCaller) -> Response:
    """Remove a generation from the user's history (and best-of lists); its images and ratings are kept."""
    _may_read(caller, user_id)
    job = await HistoryStore(context.db).hide(user_id, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job_id: no job {job_id} in the history of {user_id}")
    await RatingStore(context.db).hide_images([image["image_id"] for image in job.get("images", [])])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/jobs/{job_id}/regenerate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=refusals(not_found="No job with that id that this caller may read."),
)
async def regenerate(
    job_id: str,
    changes: ParamChanges,
    context: Context,
    caller: CurrentCaller,
    base_url: BaseUrl,
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    """Generate again with the same parameters except those in the body; a new seed unless one is given."""
    original = await owned_job(context, caller, job_id)
    merged: dict[str, Any] = {**original.params.model_dump(), "seed": None, **changes.model_dump(exclude_unset=True)}
    try:
        params = GenerationParams(**merged)
    except ValidationError as error:
        raise unprocessable_from(error) from None
    command, record = await submit(context, caller, params, idempotency_key)
    return accepted(base_url, command.correlation_id, record.status)
