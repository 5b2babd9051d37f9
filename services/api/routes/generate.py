"""`POST /generate`: the seed's synchronous endpoint, answered once the images exist (or 202 past a timeout)."""

import asyncio

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse

from schemas.generation import (
    GenerationCancelled,
    GenerationEvent,
    GenerationFailed,
    GenerationParams,
    LogoGenerated,
)
from services.api.deps import BaseUrl, Context, CurrentCaller
from services.api.errors import refusals, unprocessable
from services.api.routes.jobs import IdempotencyKey, accepted
from services.api.submission import job_id_for, submit
from services.api.views import GenerateResponse, generate_response, generate_response_from_record
from services.storage.jobs import JobStatus

router = APIRouter(tags=["generate"])


@router.post(
    "/generate",
    response_model=GenerateResponse,
    responses={
        202: {"description": "Still drawing after the timeout: follow the job instead."},
        **refusals(
            bad_gateway="The generator could not draw it; the reason is in `detail`.",
            conflict="The job was cancelled while the request waited for it.",
        ),
    },
)
async def generate(
    params: GenerationParams,
    context: Context,
    caller: CurrentCaller,
    base_url: BaseUrl,
    idempotency_key: IdempotencyKey = None,
) -> GenerateResponse | JSONResponse:
    job_id = job_id_for(caller, idempotency_key)
    async with context.job_events.subscribe(job_id) as events:
        command, record = await submit(context, caller, params, idempotency_key, job_id)
        if record.status == JobStatus.SUCCEEDED:
            # A repeated idempotency key: answer from the record, as the first call was answered.
            return generate_response_from_record(context.signer, base_url, record)
        try:
            async with asyncio.timeout(context.settings.generate_timeout_s):
                final = await _final_event(events)
        except TimeoutError:
            still = accepted(base_url, command.correlation_id, JobStatus.RUNNING)
            return JSONResponse(still.model_dump(), status_code=status.HTTP_202_ACCEPTED)
    match final:
        case GenerationCancelled():
            raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} was cancelled")
        case GenerationFailed(kind="invalid", reason=reason):
            raise unprocessable(None, f"generation failed: {reason}")
        case GenerationFailed(reason=reason):
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"generation failed: {reason}")
        case LogoGenerated():
            return generate_response(context.signer, base_url, final)


async def _final_event(
    events: asyncio.Queue[GenerationEvent],
) -> LogoGenerated | GenerationFailed | GenerationCancelled:
    while True:
        match event := await events.get():
            case LogoGenerated() | GenerationFailed() | GenerationCancelled():
                return event
