"""Training runs in MongoDB (`training_runs`) and the claim of the images each one uses (`image_scores`).

A run is recorded as pending, with its image ids, in the same transaction that claims the images
(`image_scores.training_run`), so no image goes to two runs and no set is recorded twice. Every claim
also bumps one counter document, so concurrent claims always conflict and run one after the other.
The run is published after it is recorded; `published` says whether that happened. The trainer moves
`status` on (running, succeeded, failed); the images of a failed run are released for the next one.
"""

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.base import utcnow
from schemas.training import TrainingConfig
from services.storage.mongo import translated_errors
from services.storage.transactions import Abort, in_transaction

CLAIM_COUNTER = "image-claims"


class RunStatus:
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


async def create_training_run_indexes(db: AsyncDatabase) -> None:
    await db.training_runs.create_index([("status", ASCENDING), ("images_released", ASCENDING)])
    await db.training_runs.create_index([("published", ASCENDING), ("publish_claimed_at", ASCENDING)])
    await db.training_runs.create_index([("created_at", DESCENDING)])
    # Created up front: two transactions upserting it at once would both insert.
    with suppress(DuplicateKeyError):
        await db.counters.insert_one({"_id": CLAIM_COUNTER, "claims": 0})


@dataclass(frozen=True)
class ClaimPolicy:
    """Which images a run takes: unused ones scoring at least `quality_bar`, at most `max_images`."""

    quality_bar: float
    min_images: int
    max_images: int
    datasets: list[str] = field(default_factory=list)
    config: TrainingConfig = field(default_factory=TrainingConfig)


def _eligible(quality_bar: float) -> dict[str, Any]:
    return {"training_run": None, "score": {"$gte": quality_bar}}


class TrainingRunStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    async def eligible_count(self, quality_bar: float, at_least: int) -> int:
        """How many unused images pass the bar, counting no further than `at_least`."""
        async with translated_errors("eligible count"):
            return await self._db.image_scores.count_documents(_eligible(quality_bar), limit=at_least)

    async def claim(self, policy: ClaimPolicy, reason: str, minimum: int) -> dict[str, Any] | None:
        """Record a pending run with the unused images that pass the bar, if there are at least `minimum`."""

        async def work(session: AsyncClientSession) -> dict[str, Any]:
            await self._db.counters.update_one({"_id": CLAIM_COUNTER}, {"$inc": {"claims": 1}}, session=session)
            cursor = self._db.image_scores.find(_eligible(policy.quality_bar), {"_id": 1}, session=session)
            docs = await cursor.sort([("score", DESCENDING), ("_id", ASCENDING)]).limit(policy.max_images).to_list()
            image_ids = [doc["_id"] for doc in docs]
            if len(image_ids) < minimum or (not image_ids and not policy.datasets):
                raise Abort()
            run = self._new_run(policy, reason, image_ids)
            claimed = await self._db.image_scores.update_many(
                {"_id": {"$in": image_ids}, "training_run": None}, {"$set": {"training_run": run["_id"]}},
                session=session,
            )
            if claimed.modified_count != len(image_ids):
                raise Abort()  # cannot happen under the counter's serialisation; never record a partial set
            await self._db.training_runs.insert_one(run, session=session)
            return run

        return await in_transaction(self._db.client, work, "training run claim")

    @staticmethod
    def _new_run(policy: ClaimPolicy, reason: str, image_ids: list[str]) -> dict[str, Any]:
        now = utcnow()
        return {
            "_id": uuid4().hex,
            "status": RunStatus.PENDING,
            "reason": reason,
            "image_ids": image_ids,
            "datasets": list(policy.datasets),
            "config": policy.config.model_dump(),
            "quality_bar": policy.quality_bar,
            "created_at": now,
            "published": False,
            # The recording process publishes it; others wait a lease before publishing it again.
            "publish_claimed_at": now,
        }

    async def mark_published(self, run_id: str) -> None:
        async with translated_errors("run published"):
            await self._db.training_runs.update_one(
                {"_id": run_id}, {"$set": {"published": True, "published_at": utcnow()}}
            )

    async def take_unpublished(self, lease_s: float, now: datetime | None = None) -> dict[str, Any] | None:
        """One recorded run whose publisher went quiet for `lease_s`; taking it renews the lease."""
        now = now or utcnow()
        async with translated_errors("unpublished run"):
            return await self._db.training_runs.find_one_and_update(
                {"published": False, "publish_claimed_at": {"$lte": now - timedelta(seconds=lease_s)}},
                {"$set": {"publish_claimed_at": now}},
                sort=[("created_at", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )

    async def release_failed(self) -> list[str]:
        """Give the images of failed runs back to the pool; returns the runs released."""
        released: list[str] = []
        async with translated_errors("release failed runs"):
            async for run in self._db.training_runs.find(
                {"status": RunStatus.FAILED, "images_released": {"$ne": True}}, {"_id": 1}
            ):
                await self._db.image_scores.update_many(
                    {"training_run": run["_id"]}, {"$set": {"training_run": None}}
                )
                await self._db.training_runs.update_one(
                    {"_id": run["_id"]}, {"$set": {"images_released": True, "images_released_at": utcnow()}}
                )
                released.append(run["_id"])
        return released

    async def get(self, run_id: str) -> dict[str, Any] | None:
        async with translated_errors("run read"):
            return await self._db.training_runs.find_one({"_id": run_id})
