"""Images: rate one (`POST /images/{id}/rating`), and the best ones (`GET /images/best`)."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from schemas.ratings import RateLogo
from services.api.deps import BaseUrl, Context, CurrentCaller
from services.api.errors import refusals
from services.api.ratings_views import BestImage, RatingAccepted, RatingRequest, best_image
from services.storage.rateable import RatingRefused, rateable_images
from services.storage.ratings import RatingStore

router = APIRouter(tags=["ratings"])

ImageId = Annotated[str, Path(min_length=1, max_length=128)]

_REFUSAL_STATUS = {
    RatingRefused.UNKNOWN: status.HTTP_404_NOT_FOUND,
    RatingRefused.FAILED: status.HTTP_409_CONFLICT,
    RatingRefused.UNFINISHED: status.HTTP_409_CONFLICT,
}


@router.post(
    "/images/{image_id}/rating",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RatingAccepted,
    responses=refusals(not_found="No such image.", conflict="Its job failed or has not finished."),
)
async def rate_image(image_id: ImageId, body: RatingRequest, context: Context, caller: CurrentCaller) -> RatingAccepted:
    """Rate an image for the calling user; accepted once RabbitMQ confirmed the RateLogo command."""
    found = (await rateable_images(context.db, [image_id]))[image_id]
    if isinstance(found, RatingRefused):
        raise HTTPException(_REFUSAL_STATUS[found.kind], found.reason)
    command = RateLogo(
        correlation_id=found.job_id, image_id=image_id, user_id=caller.user_id, score=body.score, comment=body.comment
    )
    await context.gateway.publish(command)
    return RatingAccepted(message_id=command.message_id, image_id=image_id, user_id=caller.user_id, score=body.score)


@router.get("/images/best", response_model=list[BestImage])
async def best_images(
    context: Context,
    caller: CurrentCaller,
    base_url: BaseUrl,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    user_id: Annotated[str | None, Query(max_length=64, description="Only this user's images.")] = None,
) -> list[BestImage]:
    """The best-rated images by confidence-aware score (many good ratings beat one perfect one).

    Everyone's best are public to any key; one user's list is for that user (or an admin).
    """
    if user_id is not None and not caller.may_read(user_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"user_id: you act for {caller.user_id}, not {user_id}")
    ranked = await RatingStore(context.db).best(limit, user_id)
    return [best_image(context.signer, base_url, scores) for scores in ranked]
