"""Generation jobs: submit (202 after the broker confirmed), read status, follow as server-sent events."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, status
from sse_starlette.sse import EventSourceResponse

from schemas.generation import (
    GenerationCancelled,
    GenerationFailed,
    GenerationParams,
    GenerationProgress,
    GenerationStarted,
    LogoGenerated,
)
from services.api.deps import BaseUrl, Context, CurrentCaller
from services.api.errors import Refusal, refusals
from services.api.submission import submit
from services.api.views import Accepted, JobView, job_view
from services.errors import BrokerUnavailable
from services.storage.jobs import JobRecord, JobStatus

router = APIRouter(tags=["jobs"])

IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=128, description="Repeat-safe submissions.")]
NO_JOB = "No job with that id that this caller may read."


def accepted(base_url: str, job_id: str, job_status: str) -> Accepted:
    base = base_url.rstrip("/")
    return Accepted(
        job_id=job_id,
        status=job_status,
        status_url=f"{base}/jobs/{job_id}",
        events_url=f"{base}/jobs/{job_id}/events",
    )


@router.post("/jobs", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def create_job(
    params: GenerationParams,
    context: Context,
    caller: CurrentCaller,
    base_url: BaseUrl,
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    """Queue a generation; answered only once RabbitMQ confirmed the command."""
    command, record = await submit(context, caller, params, idempotency_key)
    return accepted(base_url, command.correlation_id, record.status)


async def owned_job(context: Context, caller: CurrentCaller, job_id: str) -> JobRecord:
    record = await context.jobs.get(job_id)
    if record is None or not caller.may_read(record.requester.user_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}")
    return record


@router.post(
    "/jobs/{job_id}/cancel",
    response_model=JobView,
    responses=refusals(not_found=NO_JOB, conflict="The job already succeeded or failed: nothing to cancel."),
)
async def cancel_job(job_id: str, context: Context, caller: CurrentCaller, base_url: BaseUrl) -> JobView:
    """Cancel a queued or running job (its owner or an admin): a queued one is skipped when its command reaches
    a generator, a running one stops at its next step (or, drawn in a batch, is dropped from it); nothing of it
    is stored, and `generation.cancelled` is announced once. Cancelling a cancelled job again answers it as is."""
    record = await owned_job(context, caller, job_id)
    if record.status not in JobStatus.FINISHED:
        # None: it ended (or another cancel won) between the two reads; the record says which.
        record = await context.jobs.cancel(job_id) or await owned_job(context, caller, job_id)
    if record.status != JobStatus.CANCELLED:
        raise Refusal(
            status.HTTP_409_CONFLICT,
            "job-ended",
            f"job {job_id} already {record.status}: nothing to cancel",
            status=record.status,
        )
    if not record.cancel_announced:
        try:
            await context.gateway.publish(GenerationCancelled(correlation_id=job_id, requester=record.requester))
        except BrokerUnavailable:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"job {job_id} is cancelled, but the message broker did not take the announcement; "
                "repeat the request to announce it",
                headers={"Retry-After": "5"},
            ) from None
        await context.jobs.mark_cancel_announced(job_id)
    return job_view(context.signer, base_url, record.model_copy(update={"cancel_announced": True}))


@router.get("/jobs/{job_id}", response_model=JobView, responses=refusals(not_found=NO_JOB))
async def get_job(job_id: str, context: Context, caller: CurrentCaller, base_url: BaseUrl) -> JobView:
    return job_view(context.signer, base_url, await owned_job(context, caller, job_id))


@router.get("/jobs/{job_id}/events", response_class=EventSourceResponse, responses=refusals(not_found=NO_JOB))
async def job_events(job_id: str, context: Context, caller: CurrentCaller, base_url: BaseUrl) -> EventSourceResponse:
    """Server-sent events: the current state first (queued, running, done or failed), then each change."""
    await owned_job(context, caller, job_id)

    async def stream() -> AsyncIterator[dict]:
        async with context.job_events.subscribe(job_id) as events:
            # Read the record after subscribing, so no event falls between the two.
            record = await context.jobs.get(job_id)
            if record is None:  # owned_job just read it, and job records are never deleted
                return
            view = job_view(context.signer, base_url, record)
            if record.status == JobStatus.SUCCEEDED:
                yield {"event": "done", "data": view.model_dump_json()}
                return
            if record.status == JobStatus.FAILED:
                yield {"event": "failed", "data": json.dumps({"job_id": job_id, "reason": view.error})}
                return
            if record.status == JobStatus.CANCELLED:
                yield {"event": "cancelled", "data": view.model_dump_json()}
                return
            yield {"event": record.status, "data": view.model_dump_json()}
            while True:
                try:
                    event = await asyncio.wait_for(events.get(), context.settings.generate_timeout_s)
                except TimeoutError:
                    return
                match event:
                    case GenerationStarted():
                        yield {"event": "started", "data": event.model_dump_json()}
                    case GenerationProgress():
                        yield {"event": "progress", "data": event.model_dump_json()}
                    case LogoGenerated():
                        # The client gets the job's view, with signed image URLs, rather than the event.
                        if (record := await context.jobs.get(job_id)) is None:
                            return
                        yield {"event": "done", "data": job_view(context.signer, base_url, record).model_dump_json()}
                        return
                    case GenerationFailed():
                        yield {"event": "failed", "data": event.model_dump_json()}
                        return
                    case GenerationCancelled():
                        yield {"event": "cancelled", "data": event.model_dump_json()}
                        return

    return EventSourceResponse(stream(), ping=15)
