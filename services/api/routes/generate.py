"""`POST /generate`: the seed's synchronous endpoint, answered once the images exist (or 202 past a timeout)."""

import asyncio

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse

from schemas.generation import GenerationParams
from services.api.deps import BaseUrl, Context, CurrentCaller
from services.api.routes.jobs import IdempotencyKey, accepted
from services.api.submission import job_id_for, submit
from services.api.views import GenerateResponse, generate_response
from services.storage.jobs import JobStatus

router = APIRouter(tags=["generate"])


@router.post(
    "/generate",
    response_model=GenerateResponse,
    responses={202: {"description": "Still drawing after the timeout: follow the job instead."}},
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
        if record["status"] == JobStatus.SUCCEEDED:
            # A repeated idempotency key: answer from the record, as the first call was answered.
            return _from_record(context, base_url, record)
        try:
            async with asyncio.timeout(context.settings.generate_timeout_s):
                routing_key, body = await _final_event(events)
        except TimeoutError:
            still = accepted(base_url, command.correlation_id, JobStatus.RUNNING)
            return JSONResponse(still.model_dump(), status_code=status.HTTP_202_ACCEPTED)
    if routing_key == "generation.failed":
        code = status.HTTP_422_UNPROCESSABLE_ENTITY if body.get("kind") == "invalid" else status.HTTP_502_BAD_GATEWAY
        raise HTTPException(code, f"generation failed: {body.get('reason')}")
    return generate_response(context.signer, base_url, body)


async def _final_event(events: asyncio.Queue) -> tuple[str, dict]:
    while True:
        routing_key, body = await events.get()
        if routing_key in ("generation.completed", "generation.failed"):
            return routing_key, body


def _from_record(context: Context, base_url: str, record: dict) -> GenerateResponse:
    body = {
        "correlation_id": record["_id"],
        "params": record["params"],
        "seed": record["seed"],
        "images": record["images"],
        "nsfw_checked": record.get("nsfw_checked", False),
        "model": record.get("model", ""),
        "adapter": record.get("adapter"),
    }
    return generate_response(context.signer, base_url, body)
