"""Counts for the operators' overview (`GET /admin/stats`): jobs per status, ratings, rated images."""

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from services.storage.jobs import JobStatus
from services.storage.mongo import translated_errors

JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class SystemCounts(BaseModel):
    jobs: dict[str, int]
    ratings: int
    rated_images: int


class StatsRepository:
    """Read-only counts over the jobs, ratings and image_scores collections."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    async def counts(self) -> SystemCounts:
        async with translated_errors("admin stats"):
            # One indexed count per status rather than a $group over every job.
            jobs = {status: await self._db.jobs.count_documents({"status": status}) for status in JOB_STATUSES}
            ratings = await self._db.ratings.estimated_document_count()
            rated_images = await self._db.image_scores.estimated_document_count()
        return SystemCounts(jobs=jobs, ratings=ratings, rated_images=rated_images)
