"""The bot's own record of the jobs it started: which chat and message each belongs to, and what was delivered.

Kept in MongoDB (`bot_jobs`, keyed by job id) so that a bot restarted mid-generation still knows where the
result goes, and so that a redelivered event is delivered once.
"""

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from bot.errors import StaleButton
from schemas.base import utcnow
from schemas.generation import GenerationParams
from services.storage.mongo import translated_errors


class BotJobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"

    ENDED = (DELIVERED, FAILED, CANCELLED)


async def create_bot_indexes(db: AsyncDatabase) -> None:
    await db.bot_jobs.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)])


class BotJobRepository:
    """Every write is keyed by the job id; delivery is claimed once, so a redelivered event sends nothing twice."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._jobs = db.bot_jobs

    async def record(
        self,
        job_id: str,
        user_id: int,
        chat_id: int,
        status_message_id: int,
        params: GenerationParams,
        language: str,
    ) -> None:
        """`language`: the one the bot spoke to the user when the job started; its progress and result follow."""
        now = utcnow()
        async with translated_errors("bot job insert"):
            await self._jobs.insert_one(
                {
                    "_id": job_id,
                    "user_id": user_id,
                    "chat_id": chat_id,
                    "status_message_id": status_message_id,
                    "params": params.model_dump(),
                    "language": language,
                    "status": BotJobStatus.QUEUED,
                    "created_at": now,
                    "updated_at": now,
                }
            )

    async def get(self, job_id: str) -> dict[str, Any] | None:
        async with translated_errors("bot job read"):
            return await self._jobs.find_one({"_id": job_id})

    async def owned(self, job_id: str, user_id: int) -> dict[str, Any]:
        """The job behind a button; StaleButton when it is unknown or was started by someone else."""
        job = await self.get(job_id)
        if job is None or job["user_id"] != user_id:
            raise StaleButton("error-unknown-job")
        return job

    async def count_since(self, user_id: int, since: datetime) -> int:
        async with translated_errors("bot job count"):
            return await self._jobs.count_documents({"user_id": user_id, "created_at": {"$gte": since}})

    async def status_counts(self) -> dict[str, int]:
        async with translated_errors("bot job stats"):
            rows = await (await self._jobs.aggregate([{"$group": {"_id": "$status", "count": {"$sum": 1}}}])).to_list()
        return {row["_id"]: row["count"] for row in rows}

    async def mark(self, job_id: str, status: str, **fields: Any) -> None:
        async with translated_errors("bot job update"):
            await self._jobs.update_one(
                {"_id": job_id, "status": {"$nin": BotJobStatus.ENDED}},
                {"$set": {"status": status, "updated_at": utcnow(), **fields}},
            )

    async def note(self, job_id: str, **fields: Any) -> None:
        """Set fields of a job whatever its status."""
        async with translated_errors("bot job update"):
            await self._jobs.update_one({"_id": job_id}, {"$set": {**fields, "updated_at": utcnow()}})

    async def claim_delivery(self, job_id: str) -> dict[str, Any] | None:
        """Mark the job as being delivered; None when it is unknown or already delivered."""
        async with translated_errors("bot job claim"):
            return await self._jobs.find_one_and_update(
                {"_id": job_id, "status": {"$ne": BotJobStatus.DELIVERED}},
                {"$set": {"status": BotJobStatus.DELIVERING, "updated_at": utcnow()}},
                return_document=ReturnDocument.AFTER,
            )


class RateLimiter:
    """At most `limit` generations per user in any `window_s`, counted from the jobs the bot recorded."""

    def __init__(self, jobs: BotJobRepository, limit: int, window_s: float) -> None:
        self._jobs = jobs
        self.limit = limit
        self.window_s = window_s

    async def allows(self, user_id: int) -> bool:
        since = utcnow() - timedelta(seconds=self.window_s)
        return await self._jobs.count_since(user_id, since) < self.limit
