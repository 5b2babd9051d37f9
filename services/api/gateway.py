"""The API's side of the broker: confirmed publishing, and generation events fanned out to waiting requests."""

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from faststream.rabbit import RabbitBroker, RabbitMessage
from pydantic import ValidationError

from schemas.base import Message
from schemas.generation import GenerationEvent, parse_generation_event
from schemas.topology import api_generation_events
from services.errors import BrokerUnavailable
from services.messaging import declare_topology, describe, publish

logger = logging.getLogger(__name__)


class JobEvents:
    """Per-job subscriptions to generation events, for this API instance's waiting requests and streams."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[GenerationEvent]]] = defaultdict(set)

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[asyncio.Queue[GenerationEvent]]:
        queue: asyncio.Queue[GenerationEvent] = asyncio.Queue()
        self._subscribers[job_id].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[job_id].discard(queue)
            if not self._subscribers[job_id]:
                del self._subscribers[job_id]

    def dispatch(self, event: GenerationEvent) -> None:
        for queue in self._subscribers.get(event.correlation_id, ()):
            queue.put_nowait(event)


class BrokerGateway:
    """Connects lazily (the API starts even when RabbitMQ is down, and says so), publishes with confirms."""

    def __init__(self, broker: RabbitBroker, job_events: JobEvents) -> None:
        self.broker = broker
        self.job_events = job_events
        self._lock = asyncio.Lock()
        self._started = False
        # Each API instance hears every generation event on a queue of its own that dies with it.
        queue = api_generation_events()

        @self.broker.subscriber(queue.queue, queue.exchange, title="api-generation-events", no_reply=True)
        async def on_generation_event(body: dict[str, Any], message: RabbitMessage) -> None:
            try:
                event = parse_generation_event(message.raw_message.routing_key or "", body)
            except ValidationError as error:
                # This instance's queue has no dead-letter queue, and no waiting request could be answered from it.
                logger.warning("ignoring an invalid generation event %s: %s", message.message_id, describe(error))
                return
            if event is not None:
                self.job_events.dispatch(event)

    async def check(self, timeout_s: float = 2.0) -> None:
        """Raise BrokerUnavailable unless the connection to RabbitMQ is open now (not merely opened once)."""
        await self.ensure_started(timeout_s)
        if not await self.broker.ping(timeout=timeout_s):
            raise BrokerUnavailable("connection to RabbitMQ lost; reconnecting")

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
        # While the connection is down, say so at once rather than wait out the timeout for a reconnect.
        await self.check(timeout_s=0.05)
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
