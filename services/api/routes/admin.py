"""The operators' overview and the adapter in service (admin key only): stats, the registry, promote, rollback."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from schemas.training import AdapterPromoted
from services.api.deps import AdminCaller, Context
from services.api.errors import refusals
from services.errors import BrokerUnavailable
from services.ops.adapters import promote_adapter, rollback_adapter
from services.ops.queues import depths
from services.storage.adapters import AdapterError, AdapterRegistry, UnknownAdapter
from services.storage.stats import StatsRepository

logger = logging.getLogger(__name__)

router = APIRouter(tags=["admin"])

QUEUE_DEPTHS_TIMEOUT_S = 5.0


class QueueDepthView(BaseModel):
    name: str = Field(description="The command queue.")
    messages: int = Field(description="Messages ready for a consumer.")
    consumers: int
    dead_letters: int = Field(description="Messages in the queue's dead-letter queue.")


class AdminStats(BaseModel):
    queues: list[QueueDepthView] | None = Field(description="Per command queue; null when RabbitMQ did not answer.")
    jobs: dict[str, int] = Field(description="Jobs per status: queued, running, succeeded, failed.")
    ratings: int
    rated_images: int
    adapter: str | None = Field(description="The adapter version in service; null for the base model.")


class AdapterView(BaseModel):
    version: str
    run_id: str
    s3_key: str
    status: str = Field(description="candidate, in_service or retired.")
    metrics: dict[str, float]
    created_at: datetime
    promoted_at: datetime | None = None


class AdapterRegistryView(BaseModel):
    in_service: str | None = Field(description="The version in service; null for the base model.")
    history: list[str | None] = Field(description="Versions in service before, oldest first (null: the base model).")
    adapters: list[AdapterView] = Field(description="Every trained version, oldest first.")


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(
        min_length=1, max_length=64, description='An adapter version; "base" or "none": the base model.'
    )


class AdapterChanged(BaseModel):
    in_service: str | None = Field(description="The version in service now; null for the base model.")
    previous: str | None = Field(description="The version in service before; null for the base model.")


@router.get("/admin/stats", response_model=AdminStats)
async def admin_stats(context: Context, admin: AdminCaller) -> AdminStats:
    """Queue depths (as `logoforge ops queues`), jobs by status, ratings, rated images, the adapter in service."""
    try:
        async with asyncio.timeout(QUEUE_DEPTHS_TIMEOUT_S):
            queues = [QueueDepthView(**vars(depth)) for depth in await depths(context.settings.rabbit_url)]
    except Exception:  # the counts from MongoDB are still worth showing
        logger.warning("could not read the queue depths", exc_info=True)
        queues = None
    counts = await StatsRepository(context.db).counts()
    in_service = await AdapterRegistry(context.db).in_service()
    return AdminStats(
        queues=queues,
        jobs=counts.jobs,
        ratings=counts.ratings,
        rated_images=counts.rated_images,
        adapter=in_service["version"],
    )


@router.get("/admin/adapters", response_model=AdapterRegistryView)
async def list_adapters(context: Context, admin: AdminCaller) -> AdapterRegistryView:
    registry = AdapterRegistry(context.db)
    in_service = await registry.in_service()
    return AdapterRegistryView(
        in_service=in_service["version"],
        history=in_service.get("history", []),
        adapters=[AdapterView.model_validate(adapter.model_dump()) for adapter in await registry.all()],
    )


@router.post(
    "/admin/adapters/promote",
    response_model=AdapterChanged,
    responses=refusals(not_found="No adapter of that version.", conflict="That version cannot be put in service."),
)
async def promote(body: PromoteRequest, context: Context, admin: AdminCaller) -> AdapterChanged:
    """Put a version in service and announce it (AdapterPromoted); every generator loads it between jobs."""
    return await _change(context, lambda registry: promote_adapter(registry, context.gateway.publish, body.version))


@router.post(
    "/admin/adapters/rollback",
    response_model=AdapterChanged,
    responses=refusals(conflict="Nothing to roll back to."),
)
async def rollback(context: Context, admin: AdminCaller) -> AdapterChanged:
    """Put back the version in service before the current one, and announce it."""
    return await _change(context, lambda registry: rollback_adapter(registry, context.gateway.publish))


async def _change(context: Context, change: Callable[[AdapterRegistry], Awaitable[AdapterPromoted]]) -> AdapterChanged:
    """Apply a change of the adapter in service; each refusal becomes an answer that names its reason."""
    registry = AdapterRegistry(context.db)
    try:
        event = await change(registry)
    except UnknownAdapter as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except AdapterError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except BrokerUnavailable as error:
        current = (await registry.in_service())["version"] or "the base model"
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{current} is in service, but RabbitMQ did not take the announcement ({error}); "
            "repeat the request to announce it to the generators",
            headers={"Retry-After": "5"},
        ) from None
    return AdapterChanged(in_service=event.version, previous=event.previous_version)
