"""Jobs and their images in MongoDB: one document per job (keyed by job id), one per image."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from schemas.base import utcnow
from schemas.generation import GenerateLogo, GenerationParams, ImageRef, Requester
from services.errors import FatalError
from services.storage.errors import StoreUnavailable
from services.storage.mongo import translated_errors


class JobStatus:
    # Written before RabbitMQ confirmed the job's command: no reader sees it. It becomes QUEUED once the
    # command is confirmed, RUNNING when a generator claims it, or is deleted when the publish failed.
    ACCEPTING = "accepting"
    # The API answered 503 for it: should its command reach a generator anyway (a publish whose confirm was
    # lost), the generator dead-letters it instead of drawing it.
    WITHDRAWN = "withdrawn"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # Its owner cancelled it: a generator that receives its command skips it, one drawing it drops it.
    CANCELLED = "cancelled"

    FINISHED = (SUCCEEDED, FAILED, CANCELLED)
    HIDDEN = (ACCEPTING, WITHDRAWN)  # no reader sees these


class JobProgress(BaseModel):
    step: int = 0
    total_steps: int


class JobRecord(BaseModel):
    """A job as stored: its command's parameters, where it stands, and once it succeeded, its images."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    job_id: str = Field(alias="_id")
    status: str
    params: GenerationParams
    requester: Requester
    idempotency_key: str | None = None
    progress: JobProgress
    images: list[ImageRef] = []
    seed: int | None = None
    model: str | None = None
    adapter: str | None = None
    nsfw_checked: bool | None = None
    error: str | None = None
    cancel_announced: bool = False
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None


class JobWithdrawn(FatalError):
    """The job's submission was refused (503): its command must not be drawn."""


class JobCancelled(Exception):
    """The job was cancelled: its command is acknowledged without drawing. Not a failure."""


def _record(document: dict[str, Any] | None) -> JobRecord | None:
    return None if document is None else JobRecord.model_validate(document)


async def create_job_indexes(db: AsyncDatabase) -> None:
    await db.jobs.create_index([("requester.user_id", ASCENDING), ("created_at", DESCENDING)])
    await db.jobs.create_index([("status", ASCENDING)])
    await db.images.create_index([("job_id", ASCENDING), ("index", ASCENDING)], unique=True)
    await db.jobs.create_index([("params.variation_of", ASCENDING)], sparse=True)
    await db.images.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)])


class JobRepository:
    """Every write is keyed by the job id, so a redelivered command changes nothing twice."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._client = db.client
        self._jobs = db.jobs
        self._images = db.images

    async def record_accepting(self, command: GenerateLogo) -> JobRecord:
        """Insert the job, hidden until its command is confirmed, unless it exists; return the stored record."""
        now = utcnow()
        document: dict[str, Any] = {
            "_id": command.correlation_id,
            "status": JobStatus.ACCEPTING,
            "params": command.params.model_dump(),
            "requester": command.requester.model_dump(),
            "idempotency_key": command.idempotency_key,
            "progress": {"step": 0, "total_steps": command.params.num_steps},
            "images": [],
            "created_at": now,
            "updated_at": now,
        }
        async with translated_errors("job insert"):
            try:
                await self._jobs.insert_one(document)
            except DuplicateKeyError:
                existing = await self._jobs.find_one({"_id": command.correlation_id})
                return JobRecord.model_validate(existing or document)
        return JobRecord.model_validate(document)

    async def retry(self, job_id: str) -> None:
        """Take a failed or withdrawn job back to accepting before its command is published again."""
        async with translated_errors("job retry"):
            await self._jobs.update_one(
                {"_id": job_id, "status": {"$in": [JobStatus.FAILED, JobStatus.WITHDRAWN]}},
                {"$set": {"status": JobStatus.ACCEPTING, "updated_at": utcnow()}, "$unset": {"error": ""}},
            )

    async def reveal(self, job_id: str) -> None:
        """The command is confirmed: the job is queued and visible (unless a generator claimed it already)."""
        async with translated_errors("job reveal"):
            await self._jobs.update_one(
                {"_id": job_id, "status": JobStatus.ACCEPTING},
                {"$set": {"status": JobStatus.QUEUED, "updated_at": utcnow()}},
            )

    async def withdraw(self, job_id: str) -> None:
        """The command was not confirmed: the job stays hidden, and no generator will draw it."""
        async with translated_errors("job withdraw"):
            await self._jobs.update_one(
                {"_id": job_id, "status": JobStatus.ACCEPTING},
                {"$set": {"status": JobStatus.WITHDRAWN, "updated_at": utcnow()}},
            )

    async def get(self, job_id: str) -> JobRecord | None:
        """The job as its owner sees it: None while it is still being accepted."""
        async with translated_errors("job read"):
            return _record(await self._jobs.find_one({"_id": job_id, "status": {"$nin": JobStatus.HIDDEN}}))

    async def mark_running(self, command: GenerateLogo, seed: int, model: str, adapter: str | None) -> JobRecord | None:
        """Upsert the job as running (a command published straight to the broker has no job yet).

        Returns None when the job already succeeded: a redelivered command must not draw again. Raises
        StoreUnavailable (so the command is retried later) if three tries neither claim it nor find it done.
        """
        now = utcnow()
        claim = {
            "$set": {
                "status": JobStatus.RUNNING,
                "seed": seed,
                "model": model,
                "adapter": adapter,
                "updated_at": now,
                "progress": {"step": 0, "total_steps": command.params.num_steps},
            },
            "$setOnInsert": {
                "params": command.params.model_dump(),
                "requester": command.requester.model_dump(),
                "idempotency_key": command.idempotency_key,
                "images": [],
                "created_at": now,
            },
        }
        query = {
            "_id": command.correlation_id,
            "status": {"$nin": [JobStatus.SUCCEEDED, JobStatus.WITHDRAWN, JobStatus.CANCELLED]},
        }
        async with translated_errors("job start"):
            for _ in range(3):
                try:
                    claimed = await self._jobs.find_one_and_update(
                        query, claim, upsert=True, return_document=ReturnDocument.AFTER
                    )
                except DuplicateKeyError:
                    # The filter missed yet the id exists: the job succeeded, or the API's insert of the
                    # queued job landed between this upsert's miss and its insert.
                    claimed = None
                if claimed is not None:
                    return JobRecord.model_validate(claimed)
                # No claim; seen both as DuplicateKeyError and (SecantusDB, under a concurrent insert) as no
                # document at all. Only the record itself tells a finished job from a lost race.
                existing = await self._jobs.find_one({"_id": command.correlation_id}, {"status": 1})
                if existing is not None and existing["status"] == JobStatus.SUCCEEDED:
                    return None
                if existing is not None and existing["status"] == JobStatus.CANCELLED:
                    raise JobCancelled(f"job {command.correlation_id}: cancelled")
                if existing is not None and existing["status"] == JobStatus.WITHDRAWN:
                    raise JobWithdrawn(f"job {command.correlation_id}: withdrawn, the API answered 503 for it")
        raise StoreUnavailable(f"job start: could not claim job {command.correlation_id}")

    async def record_progress(self, job_id: str, step: int, total_steps: int) -> None:
        async with translated_errors("job progress"):
            await self._jobs.update_one(
                {"_id": job_id, "status": JobStatus.RUNNING},
                {"$set": {"progress": {"step": step, "total_steps": total_steps}, "updated_at": utcnow()}},
            )

    async def record_success(
        self, command: GenerateLogo, images: list[ImageRef], seed: int, nsfw_checked: bool
    ) -> bool:
        """One document per image (upserted by image id) and the job marked succeeded, in one round trip;
        False (and no image records) when the job was cancelled meanwhile.

        A client-level bulk write (MongoDB 8): the writes are not atomic together, but each is idempotent,
        so a redelivery that repeats them after a partial failure changes nothing twice.
        """
        now = utcnow()
        steps = command.params.num_steps
        writes: list[UpdateOne] = [
            UpdateOne(
                {"_id": image.image_id},
                {
                    "$setOnInsert": {
                        "job_id": command.correlation_id,
                        "index": image.index,
                        "key": image.key,
                        "nsfw": image.nsfw,
                        "prompt": command.params.prompt,
                        "seed": seed,
                        "user_id": command.requester.user_id,
                        "created_at": now,
                    }
                },
                upsert=True,
                namespace=self._images.full_name,
            )
            for image in images
        ]
        writes.append(
            UpdateOne(
                {"_id": command.correlation_id, "status": {"$ne": JobStatus.CANCELLED}},
                {
                    "$set": {
                        "status": JobStatus.SUCCEEDED,
                        "images": [image.model_dump() for image in images],
                        "nsfw_checked": nsfw_checked,
                        "progress": {"step": steps, "total_steps": steps},
                        "finished_at": now,
                        "updated_at": now,
                    }
                },
                namespace=self._jobs.full_name,
            )
        )
        async with translated_errors("job completion"):
            result = await self._client.bulk_write(writes, ordered=False, verbose_results=True)
            # The job's update (the last write) missed only if it was cancelled while being stored: its image
            # records go; the caller removes the objects.
            if result.update_results[len(writes) - 1].matched_count == 0:
                await self._images.delete_many({"job_id": command.correlation_id})
                return False
        return True

    async def cancel(self, job_id: str) -> JobRecord | None:
        """Mark a queued or running job cancelled; the record after, or None if it was not queued or running."""
        async with translated_errors("job cancel"):
            changed = await self._jobs.find_one_and_update(
                {"_id": job_id, "status": {"$in": [JobStatus.QUEUED, JobStatus.RUNNING]}},
                {"$set": {"status": JobStatus.CANCELLED, "finished_at": utcnow(), "updated_at": utcnow()}},
                return_document=ReturnDocument.AFTER,
            )
        return _record(changed)

    async def mark_cancel_announced(self, job_id: str) -> None:
        async with translated_errors("job cancel"):
            await self._jobs.update_one({"_id": job_id}, {"$set": {"cancel_announced": True}})

    async def record_failure(self, job_id: str, reason: str) -> None:
        async with translated_errors("job failure"):
            await self._jobs.update_one(
                {"_id": job_id, "status": {"$nin": [JobStatus.SUCCEEDED, JobStatus.WITHDRAWN, JobStatus.CANCELLED]}},
                {"$set": {"status": JobStatus.FAILED, "error": reason, "updated_at": utcnow()}},
            )
