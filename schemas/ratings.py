"""The rating contract: RateLogo in, LogoRated out."""

from pydantic import Field

from schemas.base import Command, Event


class RateLogo(Command):
    """One user's score for one image; a later rating by the same user replaces it. correlation_id: the job."""

    routing_key = "rate"

    image_id: str = Field(min_length=1, max_length=128)
    user_id: str = Field(min_length=1, max_length=64)
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)


class LogoRated(Event):
    routing_key = "rating.recorded"

    image_id: str
    user_id: str
    score: int
    count: int = Field(description="Ratings of this image after this one.")
    mean: float
    score_lower_bound: float = Field(description="Confidence-aware score used for ranking.")
