"""The ratings service's broker handlers: one router, one subscriber on the `ratings` queue."""

from typing import Annotated

from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitRouter

from schemas.ratings import RateLogo
from schemas.topology import COMMANDS, RATINGS
from services.ratings.service import RatingsService

router = RabbitRouter()


@router.subscriber(RATINGS.queue, COMMANDS, ack_policy=AckPolicy.REJECT_ON_ERROR, title="rate")
async def rate_logo(command: RateLogo, ratings: Annotated[RatingsService, Context("ratings")]) -> None:
    """Record one user's score for one image; acknowledged once the rating is committed."""
    await ratings.rate(command)
