"""The broker side shared by every process: connect, declare the topology, publish, and the delivery policy.

Delivery policy (ARCHITECTURE.md, "Delivery rules"): a handler that raises `FatalError` or fails validation
has its message dead-lettered at once, with the reason in a header; one that raises `RetryableError` (or a
store is down) is nacked back onto its quorum queue after a back-off, until the queue's delivery limit
dead-letters it. Nothing is acknowledged before the handler returned.
"""

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from faststream import BaseMiddleware
from faststream.exceptions import AckMessage, NackMessage
from faststream.message import StreamMessage
from faststream.rabbit import RabbitBroker
from pydantic import ValidationError

from schemas.base import Event, Message
from schemas.topology import COMMANDS, DEAD_LETTERS, DURABLE_QUEUES, ERROR_HEADER, EVENTS, EXCHANGES
from services.storage.errors import StoreUnavailable

logger = logging.getLogger(__name__)



class FatalError(Exception):
    """The message can never succeed (invalid input): dead-letter it now."""


class RetryableError(Exception):
    """A dependency failed; the same message may succeed later."""


RETRYABLE = (RetryableError, StoreUnavailable, ConnectionError, TimeoutError)


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
    broker = RabbitBroker(url, default_channel=_channel(prefetch), **kwargs)
    policy_backoff = backoff or Backoff()
    broker.add_middleware(
        lambda msg, context: DeliveryPolicy(msg, context=context, broker=broker, backoff=policy_backoff)
    )
    return broker


def _channel(prefetch: int):  # noqa: ANN202
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


async def publish(broker: RabbitBroker, message: Message) -> None:
    """Publish a command or event, persistent, and wait for the broker's confirm."""
    exchange = EVENTS if isinstance(message, Event) else COMMANDS
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


def delivery_count(msg: StreamMessage[Any]) -> int:
    """How often this message was delivered before (quorum queues count it in `x-delivery-count`)."""
    value = msg.headers.get("x-delivery-count") or 0
    return int(value)


def describe(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        fields = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'body'}: {item['msg']}" for item in error.errors()
        )
        return f"invalid message: {fields}"
    return f"{type(error).__name__}: {error}"


class DeliveryPolicy(BaseMiddleware):
    """Sorts a handler's failure into dead-letter-now or retry-later (see the module docstring)."""

    def __init__(self, msg: Any, /, *, context: Any, broker: RabbitBroker, backoff: Backoff) -> None:
        super().__init__(msg, context=context)
        self._broker = broker
        self._backoff = backoff

    async def consume_scope(self, call_next, msg: StreamMessage[Any]) -> Any:  # noqa: ANN001
        try:
            return await call_next(msg)
        except (FatalError, ValidationError, json.JSONDecodeError, UnicodeDecodeError) as error:
            await self._dead_letter(msg, describe(error))
            raise AckMessage() from error
        except RETRYABLE as error:
            attempt = delivery_count(msg)
            logger.warning("retryable failure (delivery %d) of %s: %s", attempt + 1, msg.message_id, error)
            await asyncio.sleep(self._backoff.delay_s(attempt))
            raise NackMessage(requeue=True) from error

    async def _dead_letter(self, msg: StreamMessage[Any], reason: str) -> None:
        raw = msg.raw_message
        routing_key = raw.routing_key or ""
        logger.error("dead-lettering %s (%s): %s", msg.message_id, routing_key, reason)
        await self._broker.publish(
            raw.body,
            exchange=DEAD_LETTERS,
            routing_key=routing_key,
            persist=True,
            content_type=raw.content_type,
            message_id=raw.message_id,
            correlation_id=raw.correlation_id,
            headers={**(raw.headers or {}), ERROR_HEADER: reason[:1000]},
        )
