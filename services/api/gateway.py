"""The API's side of the broker: confirmed publishing, and generation events fanned out to waiting requests."""

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from faststream.rabbit import RabbitBroker, RabbitMessage, RabbitQueue

from schemas.base import Message
from schemas.topology import EVENTS
from services.messaging import declare_topology, publish

logger = logging.getLogger(__name__)

FINAL_EVENTS = ("generation.completed", "generation.failed")


class BrokerUnavailable(Exception):
    """RabbitMQ cannot be reached: nothing was accepted."""


class JobEvents:
    """Per-job subscriptions to generation events, for this API instance's waiting requests and streams."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue]] = defaultdict(set)

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[asyncio.Queue]:
        queue: asyncio.Queue = asyncio.Queue()
        self._subscribers[job_id].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[job_id].discard(queue)
            if not self._subscribers[job_id]:
                del self._subscribers[job_id]

    def dispatch(self, routing_key: str, body: dict[str, Any]) -> None:
        for queue in self._subscribers.get(body.get("correlation_id", ""), ()):
            queue.put_nowait((routing_key, body))


class BrokerGateway:
    """Connects lazily (the API starts even when RabbitMQ is down, and says so), publishes with confirms."""

    def __init__(self, broker: RabbitBroker, job_events: JobEvents) -> None:
        self.broker = broker
        self.job_events = job_events
        self._lock = asyncio.Lock()
        self._started = False
        # Each API instance hears every generation event on a queue of its own that dies with it.
        queue = RabbitQueue("", exclusive=True, auto_delete=True, routing_key="generation.*")

        @self.broker.subscriber(queue, EVENTS, title="api-generation-events", no_reply=True)
        async def on_generation_event(body: dict, message: RabbitMessage) -> None:
            self.job_events.dispatch(message.raw_message.routing_key or "", body)

    @property
    def connected(self) -> bool:
        return self._started

    async def ensure_started(self, timeout_s: float = 5.0) -> None:
        if self._started:
            return
        async with self._lock:
            if self._started:
                return
            try:
                await asyncio.wait_for(self._start(), timeout_s)
            except Exception as error:
                _raise_if_broker_error(error, "RabbitMQ unreachable")
                raise
            self._started = True

    async def _start(self) -> None:
        await self.broker.connect()
        await declare_topology(self.broker)
        await self.broker.start()

    async def publish(self, message: Message, timeout_s: float = 10.0) -> None:
        """Publish and wait for the broker's confirm; BrokerUnavailable if that cannot happen."""
        await self.ensure_started()
        try:
            async with asyncio.timeout(timeout_s):  # in this task: no extra task per publish, unlike wait_for
                await publish(self.broker, message)
        except Exception as error:
            _raise_if_broker_error(error, "publish not confirmed")
            raise

    async def close(self) -> None:
        if self._started:
            await self.broker.stop()
            self._started = False


def _raise_if_broker_error(error: Exception, what: str) -> None:
    """Network failures and the AMQP libraries' own errors mean the broker is unavailable."""
    from_amqp_library = type(error).__module__.split(".")[0] in ("aiormq", "aio_pika", "pamqp")
    if isinstance(error, OSError | TimeoutError | ConnectionError) or from_amqp_library:
        raise BrokerUnavailable(f"{what}: {error}") from error
