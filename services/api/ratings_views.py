"""Response models of the ratings, history and best-of endpoints, built from MongoDB documents."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, Field

from schemas.generation import GenerationParams
from services.signing import UrlSigner


class RatingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5, description="1 (worst) to 5 (best); rating again replaces your score.")
    comment: str | None = Field(default=None, max_length=1000)


class RatingAccepted(BaseModel):
    message_id: str
    image_id: str
    user_id: str
    score: int
    status: str = "accepted"


class RatingSummary(BaseModel):
    """An image's aggregate: how many ratings, their mean, and the confidence-aware score used for ranking."""

    count: int
    mean: float
    score: float


class HistoryImage(BaseModel):
    image_id: str
    url: str
    nsfw: bool
    rating: RatingSummary | None = Field(description="All users' ratings of this image; null before the first.")
    user_score: int | None = Field(description="The history owner's own score of this image, if any.")
    variations: int = Field(
        default=0, description="Jobs drawn from this image as variations; `GET /images/{id}/variations` lists them."
    )


class ImageLink(BaseModel):
    image_id: str
    job_id: str
    url: str

    @classmethod
    def of(cls, signer: UrlSigner, base_url: str, image: dict[str, Any] | None) -> "ImageLink | None":
        """A link to an image record (its signed URL), or None for no record."""
        if image is None:
            return None
        return cls(image_id=image["_id"], job_id=image["job_id"], url=signer.sign(base_url, image["key"]))


class HistoryItem(BaseModel):
    job_id: str
    status: str
    created_at: datetime
    prompt: str
    params: GenerationParams
    seed: int | None
    images: list[HistoryImage]
    error: str | None = None
    variation_of: ImageLink | None = Field(default=None, description="The image this job varies, if it is one.")


class HistoryPage(BaseModel):
    items: list[HistoryItem]
    next_cursor: str | None = Field(description="Pass as `before` for the next (older) page; null on the last.")


class BestImage(BaseModel):
    image_id: str
    job_id: str
    user_id: str
    prompt: str
    url: str
    created_at: datetime
    rating: RatingSummary


@overload
def summary(scores: dict[str, Any]) -> RatingSummary: ...


@overload
def summary(scores: None) -> None: ...


def summary(scores: dict[str, Any] | None) -> RatingSummary | None:
    if scores is None:
        return None
    return RatingSummary(count=scores["count"], mean=round(scores["mean"], 4), score=round(scores["score"], 4))


def history_item(
    signer: UrlSigner,
    base_url: str,
    job: dict[str, Any],
    scores: dict[str, dict[str, Any]],
    own_ratings: dict[str, dict[str, Any]],
    family: "Family | None" = None,
) -> HistoryItem:
    family = family or Family()
    images = [
        HistoryImage(
            image_id=image["image_id"],
            url=signer.sign(base_url, image["key"]),
            nsfw=image.get("nsfw", False),
            rating=summary(scores.get(image["image_id"])),
            user_score=own_ratings.get(image["image_id"], {}).get("score"),
            variations=family.children.get(image["image_id"], 0),
        )
        for image in job.get("images", [])
    ]
    parent = family.parents.get(job["params"].get("variation_of") or "")
    return HistoryItem(
        job_id=job["_id"],
        status=job["status"],
        created_at=job["created_at"],
        prompt=job["params"]["prompt"],
        params=GenerationParams(**job["params"]),
        seed=job.get("seed"),
        images=images,
        error=job.get("error"),
        variation_of=ImageLink.of(signer, base_url, parent),
    )


@dataclass
class Family:
    """Around a page of jobs: how many variations each image has, and the image records of their parents."""

    children: dict[str, int] = field(default_factory=dict)
    parents: dict[str, dict[str, Any]] = field(default_factory=dict)


def best_image(signer: UrlSigner, base_url: str, scores: dict[str, Any]) -> BestImage:
    return BestImage(
        image_id=scores["_id"],
        job_id=scores["job_id"],
        user_id=scores["user_id"],
        prompt=scores["prompt"],
        url=signer.sign(base_url, scores["key"]),
        created_at=scores["created_at"],
        rating=summary(scores),
    )
