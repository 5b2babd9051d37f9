"""What the admin commands read and change: queue depths, counts, and the adapter in service."""

import logging
from dataclasses import dataclass

from faststream.rabbit import RabbitBroker
from pymongo.asynchronous.database import AsyncDatabase

from bot.errors import UserError
from schemas.training import AdapterPromoted
from services.messaging import publish
from services.ops.queues import QueueDepth, depths
from services.storage.adapters import NO_ADAPTER, AdapterError, AdapterRegistry
from services.storage.jobs import JobStatus
from services.storage.mongo import translated_errors

logger = logging.getLogger(__name__)

JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED)


@dataclass(frozen=True)
class Stats:
    queues: list[QueueDepth] | None  # None: RabbitMQ did not answer
    jobs: dict[str, int]
    ratings: int
    rated_images: int
    adapter: str | None  # None: the base model


class AdminTools:
    """Reads from the same places `logoforge ops` does; promotes through the same registry call."""

    def __init__(self, db: AsyncDatabase, broker: RabbitBroker, rabbit_url: str) -> None:
        self._db = db
        self._broker = broker
        self._rabbit_url = rabbit_url

    async def stats(self) -> Stats:
        try:
            queues = await depths(self._rabbit_url)
        except Exception:  # the counts from MongoDB are still worth showing
            logger.warning("could not read the queue depths", exc_info=True)
            queues = None
        async with translated_errors("admin stats"):
            # One indexed count per status rather than a $group over every job.
            jobs = {status: await self._db.jobs.count_documents({"status": status}) for status in JOB_STATUSES}
            ratings = await self._db.ratings.estimated_document_count()
            rated_images = await self._db.image_scores.estimated_document_count()
        in_service = await AdapterRegistry(self._db).in_service()
        return Stats(queues, jobs, ratings, rated_images, in_service["version"])

    async def promote(self, version: str) -> AdapterPromoted:
        """Put `version` ("base" or "none": the base model) in service, then announce it to every generator.

        As `logoforge ops promote` does: the registry's compare-and-set refuses an unknown version at once,
        and the AdapterPromoted event makes each generator load the adapter between jobs.
        """
        target = NO_ADAPTER if version == "base" else version
        try:
            event = await AdapterRegistry(self._db).promote(target, "manual")
        except AdapterError as error:
            raise UserError(str(error)) from None
        await publish(self._broker, event)
        return event
