"""Training runs in MongoDB (`training_runs`) and the claim of the images each one uses (`image_scores`).

The one repository of runs, for both halves of the learning loop: the retraining trigger records and
publishes runs; the trainer moves them on. Status goes pending -> running -> succeeded | failed (with
the reason); every change is appended to `transitions` with its time, so a run's path can be read back.

An image belongs to at most one run: `image_scores.training_run` is the claim, and the only thing that
decides which images the trigger selects. A run is recorded as pending, with its image ids, in the same
transaction that claims them, so no image goes to two runs and no set is recorded twice; every claim also
bumps one counter document, so concurrent claims always conflict and run one after the other. The run is
published after it is recorded; `published` says whether that happened. A run that fails gives its images
back in the same transaction that marks it failed, so the next run can take them at once.
"""

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.base import utcnow
from schemas.training import TrainAdapter, TrainingConfig
from services.storage.mongo import translated_errors
from services.storage.transactions import Abort, in_transaction

CLAIM_COUNTER = "image-claims"


class RunStatus:
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    # A run in one of these may still be trained (a resume keeps it running); the others are final.
    ACTIVE = (PENDING, RUNNING)


class RunTransition(BaseModel):
    status: str
    at: datetime


class RunProgress(BaseModel):
    step: int
    max_steps: int
    loss: float


class TrainingRun(BaseModel):
    """A run as stored: what it trains on, where it stands (with its path there), and once done, its adapter."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    run_id: str = Field(alias="_id")
    status: str
    transitions: list[RunTransition] = []
    reason: Literal["threshold", "manual"]
    image_ids: list[str] = []
    datasets: list[str] = []
    config: TrainingConfig
    quality_bar: float | None = None
    attempts: int = 0
    created_at: datetime
    published: bool = False
    published_at: datetime | None = None
    publish_claimed_at: datetime | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    progress: RunProgress | None = None
    error: str | None = None
    images_released: bool = False
    images_released_at: datetime | None = None
    # Set when it succeeded (TrainerService.finish).
    version: str | None = None
    s3_key: str | None = None
    metrics: dict[str, float] | None = None
    validation: list[str] = []
    resumed_from: int | None = None
    promoted: bool = False


def _run(document: dict[str, Any] | None) -> TrainingRun | None:
    return None if document is None else TrainingRun.model_validate(document)


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


def _transition(status: str, at: datetime) -> dict[str, Any]:
    return {"$push": {"transitions": {"status": status, "at": at}}}


class TrainingRunStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db
        self._runs = db.training_runs
        self._scores = db.image_scores

    async def get(self, run_id: str) -> TrainingRun | None:
        async with translated_errors("run read"):
            return _run(await self._runs.find_one({"_id": run_id}))

    # The trigger's side: select, claim, record, publish.

    async def eligible_count(self, quality_bar: float, at_least: int) -> int:
        """How many unused images pass the bar, counting no further than `at_least`."""
        async with translated_errors("eligible count"):
            return await self._scores.count_documents(_eligible(quality_bar), limit=at_least)

    async def unknown_datasets(self, names: list[str]) -> list[str]:
        """The names no imported dataset has (the trainer would refuse the run after it took its images)."""
        if not names:
            return []
        async with translated_errors("dataset lookup"):
            found = {doc["_id"] async for doc in self._db.datasets.find({"_id": {"$in": names}}, {"_id": 1})}
        return [name for name in names if name not in found]

    async def claim(self, policy: ClaimPolicy, reason: str, minimum: int) -> TrainingRun | None:
        """Record a pending run with the unused images that pass the bar, if there are at least `minimum`."""

        async def work(session: AsyncClientSession) -> dict[str, Any]:
            await self._db.counters.update_one({"_id": CLAIM_COUNTER}, {"$inc": {"claims": 1}}, session=session)
            cursor = self._scores.find(_eligible(policy.quality_bar), {"_id": 1}, session=session)
            docs = await cursor.sort([("score", DESCENDING), ("_id", ASCENDING)]).limit(policy.max_images).to_list()
            image_ids = [doc["_id"] for doc in docs]
            if len(image_ids) < minimum or (not image_ids and not policy.datasets):
                raise Abort()
            run = _new_run(uuid4().hex, reason, image_ids, policy.datasets, policy.config)
            run["quality_bar"] = policy.quality_bar
            claimed = await self._scores.update_many(
                {"_id": {"$in": image_ids}, "training_run": None},
                {"$set": {"training_run": run["_id"]}},
                session=session,
            )
            if claimed.modified_count != len(image_ids):
                raise Abort()  # cannot happen under the counter's serialisation; never record a partial set
            await self._runs.insert_one(run, session=session)
            return run

        return _run(await in_transaction(self._db.client, work, "training run claim"))

    async def mark_published(self, run_id: str) -> None:
        async with translated_errors("run published"):
            await self._runs.update_one({"_id": run_id}, {"$set": {"published": True, "published_at": utcnow()}})

    async def take_unpublished(self, lease_s: float, now: datetime | None = None) -> TrainingRun | None:
        """One recorded run whose publisher went quiet for `lease_s`; taking it renews the lease."""
        now = now or utcnow()
        async with translated_errors("unpublished run"):
            return _run(
                await self._runs.find_one_and_update(
                    {"published": False, "publish_claimed_at": {"$lte": now - timedelta(seconds=lease_s)}},
                    {"$set": {"publish_claimed_at": now}},
                    sort=[("created_at", ASCENDING)],
                    return_document=ReturnDocument.AFTER,
                )
            )

    async def release_failed(self) -> list[str]:
        """Give back the images of runs marked failed some other way (by hand); returns the runs released.

        The trainer's `mark_failed` releases its run's images itself; this sweep only finds the rest.
        """
        released: list[str] = []
        async with translated_errors("release failed runs"):
            async for run in self._runs.find(
                {"status": RunStatus.FAILED, "images_released": {"$ne": True}}, {"_id": 1, "image_ids": 1}
            ):
                await self._release(run)
                await self._runs.update_one(
                    {"_id": run["_id"]}, {"$set": {"images_released": True, "images_released_at": utcnow()}}
                )
                released.append(run["_id"])
        return released

    async def _release(self, run: dict[str, Any], session: AsyncClientSession | None = None) -> None:
        await self._scores.update_many(
            {"_id": {"$in": run.get("image_ids", [])}, "training_run": run["_id"]},
            {"$set": {"training_run": None}},
            session=session,
        )

    # The trainer's side: the run moves on.

    async def record_pending(self, command: TrainAdapter) -> TrainingRun:
        """The run of this command; one that no trigger recorded (another client sent it) is recorded now.

        Such a run claims those of its images that are rated and unused, like a run the trigger records,
        so the trigger does not select them again; images another run holds are trained on but stay its.
        """
        if (run := await self.get(command.run_id)) is not None:
            return run

        async def work(session: AsyncClientSession) -> dict[str, Any]:
            if (found := await self._runs.find_one({"_id": command.run_id}, session=session)) is not None:
                return found
            run = _new_run(command.run_id, command.reason, command.image_ids, command.datasets, command.config)
            run.update(published=True, published_at=run["created_at"])  # it came over the broker
            await self._runs.insert_one(run, session=session)
            await self._scores.update_many(
                {"_id": {"$in": command.image_ids}, "training_run": None},
                {"$set": {"training_run": command.run_id}},
                session=session,
            )
            return run

        # A concurrent insert of the same run is a duplicate key: retried, it finds the run recorded.
        recorded = _run(await in_transaction(self._db.client, work, "run record"))
        if recorded is None:  # only an Abort ends a transaction without a result, and this work never aborts
            raise RuntimeError(f"run {command.run_id} was neither found nor recorded")
        return recorded

    async def mark_running(self, run_id: str) -> bool:
        """Start (or resume) the run; False when it is no longer active (it succeeded or failed before)."""
        now = utcnow()
        async with translated_errors("run start"):
            result = await self._runs.update_one(
                {"_id": run_id, "status": {"$in": RunStatus.ACTIVE}},
                {
                    "$set": {"status": RunStatus.RUNNING, "started_at": now, "error": None},
                    "$inc": {"attempts": 1},
                    **_transition(RunStatus.RUNNING, now),
                },
            )
        return result.matched_count == 1

    async def record_progress(self, run_id: str, step: int, max_steps: int, loss: float) -> None:
        async with translated_errors("run progress"):
            await self._runs.update_one(
                {"_id": run_id, "status": RunStatus.RUNNING},
                {"$set": {"progress": {"step": step, "max_steps": max_steps, "loss": loss}, "updated_at": utcnow()}},
            )

    async def mark_succeeded(self, run_id: str, record: dict[str, Any]) -> None:
        """Record the outcome; the images stay claimed by this run for good."""
        now = utcnow()
        async with translated_errors("run success"):
            await self._runs.update_one(
                {"_id": run_id, "status": {"$in": RunStatus.ACTIVE}},
                {
                    "$set": {"status": RunStatus.SUCCEEDED, "finished_at": now, **record},
                    **_transition(RunStatus.SUCCEEDED, now),
                },
            )

    async def mark_failed(self, run_id: str, reason: str) -> bool:
        """Mark an active run failed with its reason and give its images back, in one transaction.

        Returns False when the run was not active (unknown, or already finished): nothing changes then.
        """

        async def work(session: AsyncClientSession) -> bool:
            now = utcnow()
            run = await self._runs.find_one_and_update(
                {"_id": run_id, "status": {"$in": RunStatus.ACTIVE}},
                {
                    "$set": {
                        "status": RunStatus.FAILED,
                        "error": reason,
                        "finished_at": now,
                        "images_released": True,
                        "images_released_at": now,
                    },
                    **_transition(RunStatus.FAILED, now),
                },
                projection={"_id": 1, "image_ids": 1},
                session=session,
            )
            if run is None:
                raise Abort()
            await self._release(run, session)
            return True

        return bool(await in_transaction(self._db.client, work, "run failure"))


def _new_run(
    run_id: str, reason: str, image_ids: list[str], datasets: list[str], config: TrainingConfig
) -> dict[str, Any]:
    now = utcnow()
    return {
        "_id": run_id,
        "status": RunStatus.PENDING,
        "transitions": [{"status": RunStatus.PENDING, "at": now}],
        "reason": reason,
        "image_ids": list(image_ids),
        "datasets": list(datasets),
        "config": config.model_dump(),
        "attempts": 0,
        "created_at": now,
        "published": False,
        # The recording process publishes it; others wait a lease before publishing it again.
        "publish_claimed_at": now,
    }
