"""The broker side shared by every process: connect, declare the topology, publish, and the delivery policy.

Delivery policy (docs/architecture.md, "Delivery rules"), decided from the error's class alone
(services/errors.py): a handler that raises a `FatalError` or fails validation has its message dead-lettered
at once, with the reason in a header; one that raises a `RetryableError` is nacked back onto its queue after
a back-off, until the queue's delivery limit dead-letters it. An unexpected error (outside both families) is
retried the same way, since nothing says it will fail again; on a queue without a delivery limit (the
per-instance queues) it is dead-lettered at its second failure instead of looping forever.
Nothing is acknowledged before the handler returned.
"""

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiormq.exceptions import ChannelInvalidStateError
from faststream import BaseMiddleware
from faststream.exceptions import AckMessage, IgnoredException, NackMessage
from faststream.message import StreamMessage
from faststream.rabbit import RabbitBroker
from pydantic import ValidationError

from schemas.base import Event, Message
from schemas.topology import (
    COMMANDS,
    DEAD_LETTERS,
    DURABLE_QUEUES,
    ERROR_HEADER,
    EVENTS,
    EXCHANGES,
    DurableQueue,
    dead_letter_key,
)
from services import observability
from services.cluster import ClusterBroker
from services.errors import BrokerUnavailable, FatalError, RetryableError

logger = logging.getLogger(__name__)

# Failures of the message itself: it can never be read as the command or event it claims to be.
UNREADABLE = (ValidationError, json.JSONDecodeError, UnicodeDecodeError)


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off before a failed message goes back to its queue."""

    base_s: float = 0.5
    max_s: float = 30.0

    def delay_s(self, attempt: int) -> float:
        return min(self.max_s, self.base_s * 2**attempt)


def make_broker(url: str, *, prefetch: int = 8, backoff: Backoff | None = None, **kwargs: Any) -> RabbitBroker:
    """A broker whose consumers follow the delivery policy. Publishes are confirmed (aio-pika's default)."""
    # Per-message "Received/Processed" lines at DEBUG: at INFO every progress event would fill the log.
    kwargs.setdefault("log_level", logging.DEBUG)
    # Tracing and metrics outermost (services/observability.py), the delivery policy innermost.
    # `url` may list several nodes of a cluster (services/cluster.py).
    broker = ClusterBroker(
        url, default_channel=_channel(prefetch), middlewares=observability.broker_middlewares(), **kwargs
    )
    policy_backoff = backoff or Backoff()
    broker.add_middleware(
        lambda msg, context: DeliveryPolicy(msg, context=context, broker=broker, backoff=policy_backoff)
    )
    return broker


def _channel(prefetch: int):
    from faststream.rabbit.schemas import Channel

    return Channel(prefetch_count=prefetch, publisher_confirms=True)


async def declare_topology(broker: RabbitBroker) -> None:
    """Declare every exchange, durable queue and dead-letter queue of `schemas.topology`, and bind them.

    Idempotent. Instance queues are not declared here: each belongs to its process and comes and goes with it.
    """
    for exchange in EXCHANGES:
        await broker.declare_exchange(exchange)
    for durable_queue in DURABLE_QUEUES:
        queue = await broker.declare_queue(durable_queue.queue)
        await queue.bind(durable_queue.exchange.name, routing_key=durable_queue.routing_key)
        dead_queue = await broker.declare_queue(durable_queue.dead_queue)
        await dead_queue.bind(DEAD_LETTERS.name, routing_key=durable_queue.routing_key)


# What a use case is given to announce its events and send its commands: `publisher(broker)` in a process,
# a recording fake in unit tests.
Publish = Callable[[Message], Awaitable[None]]


async def publish(broker: RabbitBroker, message: Message) -> None:
    """Publish a command or event, persistent, and wait for the broker's confirm."""
    exchange = EVENTS if isinstance(message, Event) else COMMANDS
    try:
        await broker.publish(
            message.model_dump_json(),
            exchange=exchange,
            routing_key=message.routing_key,
            persist=True,
            content_type="application/json",
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            message_type=type(message).__name__,
        )
    except (ConnectionError, TimeoutError, ChannelInvalidStateError) as error:
        raise BrokerUnavailable(f"RabbitMQ did not take {type(message).__name__}: {error!r}") from error


def publisher(broker: RabbitBroker) -> Publish:
    """`publish` bound to one broker."""
    return functools.partial(publish, broker)


def delivery_count(msg: StreamMessage[Any]) -> int:
    """How often this message was delivered before (quorum queues count it in `x-delivery-count`)."""
    value = msg.headers.get("x-delivery-count") or 0
    return int(value)


def job_named(body: bytes, correlation_id: str | None) -> str | None:
    """The job a message names: `correlation_id` in its JSON body, else its AMQP correlation id."""
    try:
        named = json.loads(body).get("correlation_id")
    except (ValueError, AttributeError):  # not JSON, or JSON but not an object
        named = None
    return named if isinstance(named, str) and named else correlation_id


def describe(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        fields = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'body'}: {item['msg']}" for item in error.errors()
        )
        return f"invalid message: {fields}"
    if isinstance(error, json.JSONDecodeError | UnicodeDecodeError):
        return "invalid message: body is not JSON"
    return f"{type(error).__name__}: {error}"


class Verdict(StrEnum):
    DEAD_LETTER = "dead-letter"
    RETRY = "retry"


@dataclass(frozen=True)
class Delivery:
    """What the broker says about one delivery of a message."""

    previous: int  # deliveries before this one, as the queue counts them
    redelivered: bool
    counted: bool  # the queue counts deliveries (a quorum queue), so its delivery limit applies

    @classmethod
    def of(cls, msg: StreamMessage[Any]) -> "Delivery":
        return cls(
            previous=delivery_count(msg),
            redelivered=bool(getattr(msg.raw_message, "redelivered", False)),
            counted="x-delivery-count" in msg.headers,
        )


def verdict(error: BaseException, delivery: Delivery) -> Verdict:
    """Dead-letter now or retry later, from the error's class and what the broker says of the delivery."""
    if isinstance(error, (FatalError, *UNREADABLE)):
        return Verdict.DEAD_LETTER
    if isinstance(error, RetryableError):
        return Verdict.RETRY
    # Unexpected: nothing says it will fail again, so it is retried like a retryable error while the
    # queue's delivery limit bounds the retries. A queue without one (a classic per-instance queue
    # does not count) marks a retried message only as redelivered: its second failure is the last.
    if delivery.redelivered and not delivery.counted:
        return Verdict.DEAD_LETTER
    return Verdict.RETRY


class DeliveryPolicy(BaseMiddleware):
    """Carries out the verdict on a handler's failure (see the module docstring)."""

    def __init__(self, msg: Any, /, *, context: Any, broker: RabbitBroker, backoff: Backoff) -> None:
        super().__init__(msg, context=context)
        self._broker = broker
        self._backoff = backoff

    async def consume_scope(self, call_next, msg: StreamMessage[Any]) -> Any:
        try:
            return await call_next(msg)
        except IgnoredException:  # the handler settled the message itself (AckMessage, NackMessage, ...)
            raise
        except Exception as error:
            delivery = Delivery.of(msg)
            if verdict(error, delivery) is Verdict.DEAD_LETTER:
                await self._dead_letter(msg, describe(error))
                raise AckMessage() from error
            expected = isinstance(error, RetryableError)
            logger.log(
                logging.WARNING if expected else logging.ERROR,
                "%s failure (delivery %d) of %s: %s",
                "retryable" if expected else "unexpected",
                delivery.previous + 1,
                msg.message_id,
                describe(error),
                exc_info=not expected,
            )
            await asyncio.sleep(self._backoff.delay_s(delivery.previous))
            raise NackMessage(requeue=True) from error

    async def _dead_letter(self, msg: StreamMessage[Any], reason: str) -> None:
        raw = msg.raw_message
        routing_key = raw.routing_key or ""
        logger.error("dead-lettering %s (%s): %s", msg.message_id, routing_key, reason)
        # Under the key of the durable queue it was consumed from: a message two durable queues receive (a
        # LogoGenerated reaches both `bot.events` and `assets`) goes to the dead-letter queue of the one that failed.
        queue = self._consumed_from()
        observability.DEAD_LETTERS.labels(queue=queue.name if queue else "other").inc()
        await self._broker.publish(
            raw.body,
            exchange=DEAD_LETTERS,
            routing_key=queue.routing_key if queue else dead_letter_key(raw.exchange or "", routing_key),
            persist=True,
            content_type=raw.content_type,
            message_id=raw.message_id,
            correlation_id=raw.correlation_id,
            headers={**(raw.headers or {}), ERROR_HEADER: reason[:1000]},
        )

    def _consumed_from(self) -> DurableQueue | None:
        """The durable queue of the subscriber handling this message (FastStream's `handler_`), if it is one."""
        subscriber = self.context.get_local("handler_")
        name = getattr(getattr(subscriber, "queue", None), "name", None)
        return next((queue for queue in DURABLE_QUEUES if queue.name == name), None)
