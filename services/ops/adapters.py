"""`logoforge ops promote VERSION` and `logoforge ops rollback`: change the adapter in service, then announce it.

The operator's command acts directly (AdapterRegistry's compare-and-set on the in-service pointer), so an
unknown version or an empty history is refused right away with a clear error and a non-zero exit; then
it publishes AdapterPromoted, and every running generator loads the adapter between jobs.
"""

from schemas.training import AdapterPromoted
from services.messaging import declare_topology, make_broker, publish
from services.settings import CommonSettings
from services.storage import mongo
from services.storage.adapters import AdapterRegistry


async def promote(settings: CommonSettings, version: str) -> AdapterPromoted:
    """Put `version` ("none": the base model) in service and announce it."""
    return await _change(settings, lambda registry: registry.promote(version, "manual"))


async def rollback(settings: CommonSettings) -> AdapterPromoted:
    """Put back the version that was in service before the current one, and announce it."""
    return await _change(settings, lambda registry: registry.rollback())


async def _change(settings: CommonSettings, change) -> AdapterPromoted:
    client = mongo.connect(settings)
    try:
        event = await change(AdapterRegistry(client[settings.mongo_db]))
    finally:
        await client.close()
    broker = make_broker(settings.rabbit_url, backoff=settings.backoff)
    async with broker:
        await broker.connect()  # publishing needs the connection only, not the consumers
        await declare_topology(broker)  # as `ops retrain` does: a fresh broker has no exchanges yet
        await publish(broker, event)
    return event
