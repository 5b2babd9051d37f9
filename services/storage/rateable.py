"""Whether an image can be rated: it exists and its job succeeded. Looked up in the generator's collections.

What makes an image rateable never changes once true (image records are written once, and a succeeded
job stays succeeded), so the ratings service keeps positive answers in a bounded cache.
"""

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from services.storage.jobs import JobStatus
from services.storage.mongo import translated_errors


class RatingRefused(Exception):
    """This image cannot be rated: unknown, or its job did not succeed."""

    UNKNOWN = "unknown"
    FAILED = "failed"
    # The job is still being recorded: the same rating may be accepted a moment later.
    UNFINISHED = "unfinished"

    def __init__(self, image_id: str, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.image_id = image_id
        self.kind = kind
        self.reason = reason

    @property
    def final(self) -> bool:
        return self.kind != self.UNFINISHED


@dataclass(frozen=True)
class RateableImage:
    image_id: str
    job_id: str
    owner: str
    prompt: str
    key: str
    created_at: datetime


async def rateable_images(db: AsyncDatabase, image_ids: list[str]) -> dict[str, RateableImage | RatingRefused]:
    """Look images and their jobs up; each one is rateable, or refused with the reason."""
    wanted = sorted(set(image_ids))
    async with translated_errors("image lookup"):
        images = {doc["_id"]: doc async for doc in db.images.find({"_id": {"$in": wanted}})}
        job_ids = sorted({doc["job_id"] for doc in images.values()})
        jobs = {doc["_id"]: doc async for doc in db.jobs.find({"_id": {"$in": job_ids}}, {"status": 1})}
    return {image_id: _judge(image_id, images.get(image_id), jobs) for image_id in wanted}


def _judge(image_id: str, image: dict | None, jobs: dict[str, dict]) -> RateableImage | RatingRefused:
    job = jobs.get(image["job_id"]) if image else None
    if image is None or job is None:
        return RatingRefused(image_id, RatingRefused.UNKNOWN, f"image_id: no image {image_id}")
    if job["status"] == JobStatus.FAILED:
        reason = f"image_id: image {image_id} belongs to failed job {job['_id']}"
        return RatingRefused(image_id, RatingRefused.FAILED, reason)
    if job["status"] != JobStatus.SUCCEEDED:
        return RatingRefused(
            image_id, RatingRefused.UNFINISHED, f"image_id: job {job['_id']} of image {image_id} is {job['status']}"
        )
    return RateableImage(
        image_id, image["job_id"], image["user_id"], image["prompt"], image["key"], image["created_at"]
    )


class RateableImageCache:
    """rateable_images with the positive answers remembered (at most `size`, least recently used dropped)."""

    def __init__(self, db: AsyncDatabase, size: int = 100_000) -> None:
        self._db = db
        self._size = size
        self._known: OrderedDict[str, RateableImage] = OrderedDict()

    async def lookup(self, image_ids: list[str]) -> dict[str, RateableImage | RatingRefused]:
        found: dict[str, RateableImage | RatingRefused] = {}
        missing = []
        for image_id in set(image_ids):
            if (known := self._known.get(image_id)) is not None:
                self._known.move_to_end(image_id)
                found[image_id] = known
            else:
                missing.append(image_id)
        if missing:
            for image_id, answer in (await rateable_images(self._db, missing)).items():
                found[image_id] = answer
                if isinstance(answer, RateableImage):
                    self._remember(answer)
        return found

    def _remember(self, image: RateableImage) -> None:
        self._known[image.image_id] = image
        while len(self._known) > self._size:
            self._known.popitem(last=False)
