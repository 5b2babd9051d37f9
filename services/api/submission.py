"""Turning an HTTP request into a GenerateLogo command: job id, idempotency, confirmed publish."""

import logging

from schemas.generation import Channel, GenerateLogo, GenerationParams, Requester
from schemas.generation import job_id_for as job_id_of_submission
from services.api.deps import ApiContext
from services.api.errors import unprocessable
from services.api.security import Caller
from services.errors import BrokerUnavailable
from services.storage.errors import StoreUnavailable
from services.storage.jobs import JobRecord, JobStatus

logger = logging.getLogger(__name__)


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
    """Record the job, publish its command, then show the job: 202 means it will run, 503 that it will not.

    The record is written first, hidden (`accepting`), so that a command is never published for a job
    MongoDB could not record (a 503 then, with nothing drawn). It is shown once RabbitMQ confirmed the
    command. When the publish was not confirmed the job is `withdrawn`: still hidden, and a generator that
    receives its command anyway (the broker took it, the confirm was lost) dead-letters it instead of
    drawing it. A repeated idempotency key publishes no twin of a queued job, and retries a withdrawn one.
    """
    if params.variation_of is not None:
        await _check_parent(context, caller, params.variation_of)
    command = GenerateLogo(
        correlation_id=job_id or job_id_for(caller, idempotency_key),
        params=params,
        requester=Requester(channel=Channel.API, user_id=caller.user_id),
        idempotency_key=idempotency_key,
    )
    await context.gateway.ensure_started()
    record = await context.jobs.record_accepting(command)
    if record.status not in (JobStatus.ACCEPTING, JobStatus.FAILED, JobStatus.WITHDRAWN):
        return command, record  # a repeated key: queued, running or done already
    if record.status != JobStatus.ACCEPTING:
        await context.jobs.retry(command.correlation_id)
    try:
        await context.gateway.publish(command)
    except BrokerUnavailable:
        await _withdraw(context, command.correlation_id)
        raise
    try:
        await context.jobs.reveal(command.correlation_id)
    except StoreUnavailable:
        # The command is confirmed, so the job will run: the answer is 202. The generator's claim shows it.
        logger.warning("job %s queued but not yet shown: MongoDB did not answer", command.correlation_id)
    return command, record.model_copy(update={"status": JobStatus.QUEUED})


async def _check_parent(context: ApiContext, caller: Caller, image_id: str) -> None:
    """A variation is drawn from an image its caller may read: 422 naming `params.variation_of` otherwise."""
    image = await context.db.images.find_one({"_id": image_id}, {"user_id": 1})
    if image is None or not caller.may_read(image.get("user_id", "")):
        raise unprocessable("variation_of", f"no image {image_id} that this caller may read")


async def _withdraw(context: ApiContext, job_id: str) -> None:
    try:
        await context.jobs.withdraw(job_id)
    except StoreUnavailable:
        # Still hidden ('accepting'); should the command have reached RabbitMQ after all, it will be drawn.
        logger.warning("job %s was not confirmed and MongoDB did not answer its withdrawal", job_id)
