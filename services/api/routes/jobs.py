"""Generation jobs: submit (202 after the broker confirmed), read status, follow as server-sent events."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, status
from sse_starlette.sse import EventSourceResponse

from schemas.generation import (
    GenerationFailed,
    GenerationParams,
    GenerationProgress,
    GenerationStarted,
    LogoGenerated,
)
from services.api.deps import BaseUrl, Context, CurrentCaller
from services.api.errors import refusals
from services.api.submission import submit
from services.api.views import Accepted, JobView, job_view
from services.storage.jobs import JobRecord, JobStatus

router = APIRouter(tags=["jobs"])

IdempotencyKey = Annotated[
    str | None, Header(min_length=1, max_length=128, description="Repeat-safe submissions.")
]
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

    return EventSourceResponse(stream(), ping=15)
