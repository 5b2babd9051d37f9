"""Turning an HTTP request into a GenerateLogo command: job id, idempotency, confirmed publish."""

import asyncio

from schemas.generation import Channel, GenerateLogo, GenerationParams, Requester
from schemas.generation import job_id_for as job_id_of_submission
from services.api.deps import ApiContext
from services.api.security import Caller
from services.storage.jobs import JobRecord, JobStatus


def job_id_for(caller: Caller, idempotency_key: str | None) -> str:
    """A fresh job id, or the same one for the same caller and idempotency key."""
    return job_id_of_submission(caller.user_id, idempotency_key)


async def submit(
    context: ApiContext,
    caller: Caller,
    params: GenerationParams,
    idempotency_key: str | None = None,
    job_id: str | None = None,
) -> tuple[GenerateLogo, JobRecord]:
    """Record the job as queued and publish its command; a repeated idempotency key publishes no twin."""
    command = GenerateLogo(
        correlation_id=job_id or job_id_for(caller, idempotency_key),
        params=params,
        requester=Requester(channel=Channel.API, user_id=caller.user_id),
        idempotency_key=idempotency_key,
    )
    await context.gateway.ensure_started()
    if idempotency_key is None:
        # A fresh job id has no earlier record to consult: record and publish at once. Both are done before
        # the caller hears anything; should the generator claim the job first, the record read back says so.
        _, record = await asyncio.gather(context.gateway.publish(command), context.jobs.record_queued(command))
        return command, record
    record = await context.jobs.record_queued(command)
    if record.status in (JobStatus.QUEUED, JobStatus.FAILED):
        if record.status == JobStatus.FAILED:
            await context.jobs.requeue(command.correlation_id)
        await context.gateway.publish(command)
    return command, record
