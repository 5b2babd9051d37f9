"""S3 or MongoDB stopped while the generator has jobs: retried until the store is back, nothing lost or drawn
twice, the poison among them dead-lettered, and a replay of the dead letters ends.

Each test starts the store it stops (its own SeaweedFS or SecantusDB, on a free port with its own data folder)
and holds the outage until the generator has failed on it several times, not for a fixed time.
"""

import asyncio
import json
import logging
import uuid
from collections import Counter

import pytest
from faststream import TestApp
from pymongo import AsyncMongoClient

from logoforge.devstack import SeaweedS3, SecantusMongo, wait_until
from schemas.topology import GENERATE
from services.ops.queues import depths, replay
from services.storage.s3 import ObjectStore
from tests.integration.test_generator import command_body, publish_raw
from tests.support import publish_commands, small_job
from workers.generator.app import build_generator

pytestmark = pytest.mark.asyncio

JOBS = 6
IMAGES_PER_JOB = 2
FAILED_ATTEMPTS_DURING_OUTAGE = 2


class RetryLog(logging.Handler):
    """Counts the generator's retryable failures as the delivery policy logs them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("retryable failure"):
            self.count += 1


@pytest.fixture
def retry_log():
    handler = RetryLog()
    logger = logging.getLogger("services.messaging")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


async def run_through_an_outage(settings, shared_model, rabbit_url, events, retry_log, stop, start) -> list[str]:
    """Publish the jobs and one poison command, stop the store once the first job is done, start it again
    after the generator failed on it FAILED_ATTEMPTS_DURING_OUTAGE times; return the jobs' ids."""
    jobs = [small_job(n, images=IMAGES_PER_JOB, steps=4, subject="a heron") for n in range(JOBS)]
    poison_id = uuid.uuid4().hex
    async with TestApp(build_generator(settings, model=shared_model)):
        await publish_commands(rabbit_url, jobs[:1])
        await events.for_job(jobs[0].correlation_id, "generation.completed", timeout_s=120)
        await asyncio.to_thread(stop)
        await publish_commands(rabbit_url, jobs[1:])
        await publish_raw(rabbit_url, json.dumps(command_body(poison_id, height=500)).encode())
        failed_before = retry_log.count

        async def failed_on_the_outage() -> bool:
            return retry_log.count >= failed_before + FAILED_ATTEMPTS_DURING_OUTAGE

        await wait_until(failed_on_the_outage, 120, "retrying while the store is down")
        await asyncio.to_thread(start)
        for job in jobs:
            await events.for_job(job.correlation_id, "generation.completed", timeout_s=240)
        failed = await events.for_job(poison_id, "generation.failed", timeout_s=60)
    assert failed.body["kind"] == "invalid" and "multiple of 8" in failed.body["reason"]
    completed = Counter(e.body["correlation_id"] for e in events.received if e.routing_key == "generation.completed")
    assert all(completed[job.correlation_id] == 1 for job in jobs), completed  # none announced twice
    return [job.correlation_id for job in jobs]


async def assert_stored_once_and_replay_ends(settings, rabbit_url, job_ids: list[str]) -> None:
    store = ObjectStore.from_settings(settings)
    mongo = AsyncMongoClient(settings.mongo_url)
    try:
        db = mongo[settings.mongo_db]
        for job_id in job_ids:
            assert sorted(await store.list_keys(f"images/{job_id}/")) == [
                f"images/{job_id}/{n}.png" for n in range(IMAGES_PER_JOB)
            ]
            assert await db.images.count_documents({"job_id": job_id}) == IMAGES_PER_JOB
        assert await db.jobs.count_documents({"_id": {"$in": job_ids}, "status": "succeeded"}) == JOBS
    finally:
        await mongo.close()
    # The poison alone is dead; a replay takes it once, and it comes back dead (no generator runs now).
    [generate] = [depth for depth in await depths(rabbit_url) if depth.name == GENERATE.queue.name]
    assert generate.dead_letters == 1 and generate.messages == 0
    sweep = await asyncio.wait_for(replay(rabbit_url, GENERATE.queue.name), 30)
    assert (sweep.looked_at, sweep.taken) == (1, 1)


async def test_s3_stopped_under_jobs_is_waited_out(
    generator_settings, shared_model, rabbit_url, events, retry_log, tmp_path
):
    s3 = SeaweedS3(
        tmp_path / "s3", generator_settings.s3_access_key, generator_settings.s3_secret_key.get_secret_value()
    ).start()
    try:
        # The default back-off's growth (not the tests' 0.2 s cap) is what carries a job through an outage.
        settings = generator_settings.model_copy(
            update={"s3_endpoint": s3.endpoint, "retry_backoff_s": 0.5, "retry_backoff_max_s": 8}
        )
        job_ids = await run_through_an_outage(settings, shared_model, rabbit_url, events, retry_log, s3.stop, s3.start)
        await assert_stored_once_and_replay_ends(settings, rabbit_url, job_ids)
    finally:
        s3.stop()


async def test_mongodb_stopped_under_jobs_is_waited_out(
    generator_settings, shared_model, rabbit_url, events, retry_log, tmp_path
):
    mongo = SecantusMongo(tmp_path / "mongo").start()
    try:
        settings = generator_settings.model_copy(
            update={"mongo_url": mongo.url, "retry_backoff_s": 0.5, "retry_backoff_max_s": 8}
        )
        job_ids = await run_through_an_outage(
            settings, shared_model, rabbit_url, events, retry_log, mongo.stop, mongo.start
        )
        await assert_stored_once_and_replay_ends(settings, rabbit_url, job_ids)
    finally:
        mongo.stop()
