"""The job claim against SecantusDB: who wins when the API's insert and the generator's upsert meet."""

import asyncio
import uuid

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from schemas.generation import Channel, GenerateLogo, GenerationParams, ImageRef, Requester
from services.storage.jobs import JobRepository, JobStatus, JobWithdrawn
from services.storage.s3 import image_key

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def jobs(mongo_server):
    client = AsyncMongoClient(mongo_server.url)
    yield JobRepository(client[f"jobs-{uuid.uuid4().hex[:8]}"])
    await client.close()


def a_command() -> GenerateLogo:
    return GenerateLogo(
        correlation_id=uuid.uuid4().hex,
        params=GenerationParams(prompt="a logo of a fox", height=64, width=64, num_steps=2),
        requester=Requester(channel=Channel.API, user_id="u1"),
    )


async def test_a_claim_whose_upsert_loses_to_the_apis_insert_still_claims_the_job(jobs, monkeypatch):
    """The upsert's filter missed, then the API's insert landed first: MongoDB answers DuplicateKeyError."""
    command = a_command()
    collection = jobs._jobs
    real = collection.find_one_and_update
    attempts = 0

    async def insert_lands_first(*args, **kwargs):
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await jobs.record_accepting(command)  # the API's insert, between this upsert's miss and its insert
            raise DuplicateKeyError("E11000 duplicate key error collection: jobs index: _id_")
        return await real(*args, **kwargs)

    monkeypatch.setattr(collection, "find_one_and_update", insert_lands_first)
    claimed = await jobs.mark_running(command, 7, "tiny", None)

    assert claimed is not None and claimed.status == JobStatus.RUNNING and claimed.seed == 7
    assert attempts == 2


async def test_claims_racing_the_apis_inserts_all_succeed(jobs):
    """A claim can meet an insert of the same job (a redelivered command and a keyed retry): both succeed."""
    commands = [a_command() for _ in range(100)]
    pairs = (asyncio.gather(jobs.record_accepting(c), jobs.mark_running(c, 7, "tiny", None)) for c in commands)
    outcomes = await asyncio.gather(*pairs)
    claimed = [claim for _, claim in outcomes]
    assert all(claim is not None and claim.status == JobStatus.RUNNING for claim in claimed)
    for command in commands[:5]:
        record = await jobs.get(command.correlation_id)
        assert record is not None and record.status == JobStatus.RUNNING


async def test_a_claim_of_a_succeeded_job_is_refused(jobs):
    command = a_command()
    await jobs.record_accepting(command)
    assert await jobs.mark_running(command, 7, "tiny", None) is not None
    image = ImageRef(image_id=f"{command.correlation_id}-0", index=0, key=image_key(command.correlation_id, 0))
    await jobs.record_success(command, [image], 7, nsfw_checked=False)

    assert await jobs.mark_running(command, 7, "tiny", None) is None
    record = await jobs.get(command.correlation_id)
    assert record is not None and record.status == JobStatus.SUCCEEDED and len(record.images) == 1


async def test_a_withdrawn_job_is_hidden_and_refused_to_generators(jobs):
    command = a_command()
    await jobs.record_accepting(command)
    assert await jobs.get(command.correlation_id) is None  # hidden until its command is confirmed
    await jobs.withdraw(command.correlation_id)
    with pytest.raises(JobWithdrawn):
        await jobs.mark_running(command, 7, "tiny", None)
    await jobs.record_failure(command.correlation_id, "dead-lettered")
    assert await jobs.get(command.correlation_id) is None  # still hidden: its failure is not the user's
    await jobs.retry(command.correlation_id)
    await jobs.reveal(command.correlation_id)
    record = await jobs.get(command.correlation_id)
    assert record is not None and record.status == JobStatus.QUEUED
