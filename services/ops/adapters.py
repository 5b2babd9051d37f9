"""Changing the adapter in service and announcing it: one path for `logoforge ops` and the API's admin routes.

`promote_adapter` and `rollback_adapter` act directly (AdapterRegistry's compare-and-set on the in-service
pointer), so an unknown version or an empty history is refused right away with a clear error; then they
publish AdapterPromoted, and every running generator loads the adapter between jobs. The pointer is
changed first: should the publish fail, repeating the same promotion changes nothing and announces again.

`promote` and `rollback` are the operator's commands: they open MongoDB and RabbitMQ for one change.
"""

from collections.abc import Awaitable, Callable

from schemas.base import Message
from schemas.training import AdapterPromoted
from services.messaging import Publish, declare_topology, make_broker, publish
from services.settings import CommonSettings
from services.storage import mongo
from services.storage.adapters import NO_ADAPTER, AdapterRegistry

# Names an operator may use for "no adapter, the base model".
BASE_MODEL_NAMES = ("base", NO_ADAPTER)


def registry_version(version: str) -> str:
    """The registry's name for `version`: "base" and "none" both mean the base model."""
    return NO_ADAPTER if version in BASE_MODEL_NAMES else version


async def promote_adapter(registry: AdapterRegistry, publish_event: Publish, version: str) -> AdapterPromoted:
    """Put `version` ("base" or "none": the base model) in service and announce it."""
    event = await registry.promote(registry_version(version), "manual")
    await publish_event(event)
    return event


async def rollback_adapter(registry: AdapterRegistry, publish_event: Publish) -> AdapterPromoted:
    """Put back the version that was in service before the current one, and announce it."""
    event = await registry.rollback()
    await publish_event(event)
    return event


async def promote(settings: CommonSettings, version: str) -> AdapterPromoted:
    """`logoforge ops promote VERSION`."""
    return await _change(settings, lambda registry, send: promote_adapter(registry, send, version))


async def rollback(settings: CommonSettings) -> AdapterPromoted:
    """`logoforge ops rollback`."""
    return await _change(settings, rollback_adapter)


async def _change(
    settings: CommonSettings, change: Callable[[AdapterRegistry, Publish], Awaitable[AdapterPromoted]]
) -> AdapterPromoted:
    client = mongo.connect(settings)
    broker = make_broker(settings.rabbit_url, backoff=settings.backoff)
    connected = False

    async def send(message: Message) -> None:
        nonlocal connected
        if not connected:
            await broker.connect()  # publishing needs the connection only, not the consumers
            await declare_topology(broker)  # as `ops retrain` does: a fresh broker has no exchanges yet
            connected = True
        await publish(broker, message)

    try:
        return await change(AdapterRegistry(client[settings.mongo_db]), send)
    finally:
        await broker.stop()
        await client.close()
