"""Training runs in MongoDB (`training_runs`, keyed by run id) and which images a finished run used.

Status goes pending -> running -> succeeded | failed (with the reason). Images are marked with
`trained_in_run` only when a run succeeded, so the images of a failed run stay available to the next.
"""

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from schemas.base import utcnow
from schemas.training import TrainAdapter
from services.storage.mongo import translated_errors


class RunStatus:
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


async def create_training_indexes(db: AsyncDatabase) -> None:
    await db.training_runs.create_index([("status", ASCENDING), ("created_at", ASCENDING)])
    await db.images.create_index([("trained_in_run", ASCENDING)])


class TrainingRuns:
    def __init__(self, db: AsyncDatabase) -> None:
        self._runs = db.training_runs
        self._images = db.images

    async def get(self, run_id: str) -> dict[str, Any] | None:
        async with translated_errors("run read"):
            return await self._runs.find_one({"_id": run_id})

    async def record_pending(self, command: TrainAdapter) -> dict[str, Any]:
        """Insert the run as pending unless it exists (whoever sends TrainAdapter may call this too)."""
        now = utcnow()
        async with translated_errors("run insert"):
            return await self._runs.find_one_and_update(
                {"_id": command.run_id},
                {
                    "$setOnInsert": {
                        "status": RunStatus.PENDING,
                        "reason": command.reason,
                        "image_ids": command.image_ids,
                        "datasets": command.datasets,
                        "config": command.config.model_dump(),
                        "attempts": 0,
                        "created_at": now,
                    }
                },
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )

    async def mark_running(self, run_id: str) -> None:
        async with translated_errors("run start"):
            await self._runs.update_one(
                {"_id": run_id, "status": {"$ne": RunStatus.SUCCEEDED}},
                {
                    "$set": {"status": RunStatus.RUNNING, "started_at": utcnow(), "error": None},
                    "$inc": {"attempts": 1},
                },
            )

    async def record_progress(self, run_id: str, step: int, max_steps: int, loss: float) -> None:
        async with translated_errors("run progress"):
            await self._runs.update_one(
                {"_id": run_id, "status": RunStatus.RUNNING},
                {
                    "$set": {
                        "progress": {"step": step, "max_steps": max_steps, "loss": loss},
                        "updated_at": utcnow(),
                    }
                },
            )

    async def mark_succeeded(self, run_id: str, record: dict[str, Any], image_ids: list[str]) -> None:
        """Record the outcome, then mark the images used (a redelivery repeats both harmlessly)."""
        async with translated_errors("run success"):
            await self._runs.update_one(
                {"_id": run_id},
                {"$set": {"status": RunStatus.SUCCEEDED, "finished_at": utcnow(), **record}},
            )
            if image_ids:
                await self._images.update_many(
                    {"_id": {"$in": image_ids}, "trained_in_run": None},
                    {"$set": {"trained_in_run": run_id, "trained_at": utcnow()}},
                )

    async def mark_failed(self, run_id: str, reason: str) -> None:
        async with translated_errors("run failure"):
            await self._runs.update_one(
                {"_id": run_id, "status": {"$ne": RunStatus.SUCCEEDED}},
                {"$set": {"status": RunStatus.FAILED, "error": reason, "finished_at": utcnow()}},
            )
