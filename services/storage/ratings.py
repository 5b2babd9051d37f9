"""Ratings in MongoDB: one document per (image, user) in `ratings`, one aggregate per image in `image_scores`.

`image_scores` (keyed by image id) also carries what ranking and training need without a join: the
image's job, owner, prompt and creation time, whether its owner hid it, and the training run that used it.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from schemas.base import utcnow
from schemas.ratings import RateLogo
from services.ratings.scoring import Aggregate, Fold, Outcome, RatingKey, RatingVersion, fold
from services.storage.jobs import JobStatus
from services.storage.mongo import translated_errors
from services.storage.transactions import in_transaction

BEST_ORDER = [("score", DESCENDING), ("count", DESCENDING), ("_id", ASCENDING)]


async def create_rating_indexes(db: AsyncDatabase) -> None:
    await db.ratings.create_index([("image_id", ASCENDING), ("user_id", ASCENDING)], unique=True)
    await db.image_scores.create_index([("hidden", ASCENDING), *BEST_ORDER[:2]])
    await db.image_scores.create_index([("user_id", ASCENDING), ("hidden", ASCENDING), *BEST_ORDER[:2]])
    await db.image_scores.create_index([("training_run", ASCENDING), ("score", DESCENDING)])
    await db.image_scores.create_index([("job_id", ASCENDING)])


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
    hidden: bool


async def rateable_images(db: AsyncDatabase, image_ids: list[str]) -> dict[str, RateableImage | RatingRefused]:
    """Look images and their jobs up; each one is rateable, or refused with the reason."""
    wanted = sorted(set(image_ids))
    async with translated_errors("image lookup"):
        images = {doc["_id"]: doc async for doc in db.images.find({"_id": {"$in": wanted}})}
        job_ids = sorted({doc["job_id"] for doc in images.values()})
        jobs = {doc["_id"]: doc async for doc in db.jobs.find({"_id": {"$in": job_ids}}, {"status": 1, "hidden": 1})}
    found: dict[str, RateableImage | RatingRefused] = {}
    for image_id in wanted:
        image = images.get(image_id)
        job = jobs.get(image["job_id"]) if image else None
        if image is None or job is None:
            found[image_id] = RatingRefused(image_id, RatingRefused.UNKNOWN, f"image_id: no image {image_id}")
        elif job["status"] == JobStatus.FAILED:
            found[image_id] = RatingRefused(
                image_id, RatingRefused.FAILED, f"image_id: image {image_id} belongs to failed job {job['_id']}"
            )
        elif job["status"] != JobStatus.SUCCEEDED:
            found[image_id] = RatingRefused(
                image_id, RatingRefused.UNFINISHED, f"image_id: job {job['_id']} of image {image_id} is {job['status']}"
            )
        else:
            found[image_id] = RateableImage(
                image_id, image["job_id"], image["user_id"], image["prompt"], image["key"], image["created_at"],
                bool(job.get("hidden")),
            )
    return found


@dataclass(frozen=True)
class RecordedRating:
    """What one RateLogo did, and the image's aggregate after the batch it was part of."""

    command: RateLogo
    outcome: Outcome
    job_id: str
    aggregate: Aggregate
    training_run: str | None


class RatingStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    async def record(self, commands: list[RateLogo], images: dict[str, RateableImage]) -> list[RecordedRating]:
        """Apply rateable commands (in arrival order) in one transaction; redeliveries change nothing."""

        async def work(session: AsyncClientSession) -> list[RecordedRating]:
            ratings, aggregates, claims = await self._read_state(commands, session)
            result = fold(commands, ratings, aggregates)
            await self._write(result, ratings, aggregates, images, session)
            return [
                RecordedRating(
                    command, outcome, images[command.image_id].job_id,
                    result.aggregates[command.image_id], claims.get(command.image_id),
                )
                for command, outcome in zip(commands, result.outcomes, strict=True)
            ]

        return await in_transaction(self._db.client, work, "rating batch") or []

    async def _read_state(
        self, commands: list[RateLogo], session: AsyncClientSession
    ) -> tuple[dict[RatingKey, RatingVersion], dict[str, Aggregate], dict[str, str | None]]:
        image_ids = sorted({command.image_id for command in commands})
        user_ids = sorted({command.user_id for command in commands})
        wanted = {(command.image_id, command.user_id) for command in commands}
        ratings: dict[RatingKey, RatingVersion] = {}
        cursor = self._db.ratings.find({"image_id": {"$in": image_ids}, "user_id": {"$in": user_ids}}, session=session)
        async for doc in cursor:
            key = (doc["image_id"], doc["user_id"])
            if key in wanted:
                ratings[key] = RatingVersion(doc["score"], doc["message_id"], doc["occurred_at"], doc.get("comment"))
        aggregates: dict[str, Aggregate] = {}
        claims: dict[str, str | None] = {}
        async for doc in self._db.image_scores.find({"_id": {"$in": image_ids}}, session=session):
            aggregates[doc["_id"]] = Aggregate(doc["count"], doc["sum"])
            claims[doc["_id"]] = doc.get("training_run")
        return ratings, aggregates, claims

    async def _write(
        self,
        result: Fold,
        before: dict[RatingKey, RatingVersion],
        aggregates_before: dict[str, Aggregate],
        images: dict[str, RateableImage],
        session: AsyncClientSession,
    ) -> None:
        now = utcnow()
        rating_writes: list[InsertOne | UpdateOne] = []
        for image_id, user_id in sorted(result.changed_ratings):
            version = result.ratings[(image_id, user_id)]
            fields = {"score": version.score, "comment": version.comment, "message_id": version.message_id,
                      "occurred_at": version.occurred_at, "recorded_at": now}
            if (image_id, user_id) in before:
                rating_writes.append(UpdateOne({"image_id": image_id, "user_id": user_id}, {"$set": fields}))
            else:
                image = images[image_id]
                rating_writes.append(InsertOne({"image_id": image_id, "user_id": user_id, "job_id": image.job_id,
                                                "image_owner": image.owner, **fields}))
        score_writes: list[InsertOne | UpdateOne] = []
        for image_id in sorted(result.changed_images):
            aggregate = result.aggregates[image_id]
            fields = {"count": aggregate.count, "sum": aggregate.total, "mean": aggregate.mean,
                      "score": aggregate.score, "updated_at": now}
            if image_id in aggregates_before:
                score_writes.append(UpdateOne({"_id": image_id}, {"$set": fields}))
            else:
                image = images[image_id]
                score_writes.append(InsertOne({"_id": image_id, "job_id": image.job_id, "user_id": image.owner,
                                               "prompt": image.prompt, "key": image.key, "created_at": image.created_at,
                                               "hidden": image.hidden, "training_run": None, **fields}))
        if rating_writes:
            await self._db.ratings.bulk_write(rating_writes, ordered=True, session=session)
        if score_writes:
            await self._db.image_scores.bulk_write(score_writes, ordered=True, session=session)

    async def aggregates(self, image_ids: list[str]) -> dict[str, dict[str, Any]]:
        async with translated_errors("aggregate read"):
            return {doc["_id"]: doc async for doc in self._db.image_scores.find({"_id": {"$in": image_ids}})}

    async def ratings_by(self, user_id: str, image_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The given user's own ratings of these images, by image id."""
        async with translated_errors("rating read"):
            cursor = self._db.ratings.find({"image_id": {"$in": image_ids}, "user_id": user_id})
            return {doc["image_id"]: doc async for doc in cursor}

    async def best(self, limit: int, user_id: str | None = None) -> list[dict[str, Any]]:
        """Rated images by confidence-aware score, best first; hidden ones left out."""
        query: dict[str, Any] = {"hidden": False}
        if user_id is not None:
            query["user_id"] = user_id
        async with translated_errors("best images"):
            return await self._db.image_scores.find(query).sort(BEST_ORDER).limit(limit).to_list()

    async def hide_job(self, job_id: str) -> None:
        async with translated_errors("hide job images"):
            await self._db.image_scores.update_many({"job_id": job_id}, {"$set": {"hidden": True}})
