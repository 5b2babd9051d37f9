"""Queue depths, dead-letter inspection and replay, straight over AMQP (no management plugin needed)."""

from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel

from schemas.topology import DURABLE_QUEUES, ERROR_HEADER, DurableQueue, durable_queue_named

# Headers the broker adds when dead-lettering; a replayed message starts its life afresh without them.
_DEATH_HEADERS = ("x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
                  "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason", "x-delivery-count",
                  ERROR_HEADER)


@dataclass
class QueueDepth:
    name: str
    messages: int
    consumers: int
    dead_letters: int


@dataclass
class DeadLetter:
    message_id: str | None
    correlation_id: str | None
    reason: str
    body: bytes


def _reason(headers: dict[str, Any]) -> str:
    if headers.get(ERROR_HEADER):
        return str(headers[ERROR_HEADER])
    return str(headers.get("x-first-death-reason") or headers.get("x-last-death-reason") or "unknown")


def queue_by_name(name: str) -> DurableQueue:
    return durable_queue_named(name)


def original_routing_key(message: aio_pika.abc.AbstractIncomingMessage) -> str:
    """The key a dead letter was first published under (the broker keeps it in `x-death`)."""
    deaths = (message.headers or {}).get("x-death")  # most recent first; a replayed copy starts without it
    death = deaths[0] if isinstance(deaths, list) and deaths else None
    keys = death.get("routing-keys") if isinstance(death, dict) else None
    if isinstance(keys, list) and keys:
        key = keys[0]
        return key.decode() if isinstance(key, bytes) else str(key)
    return message.routing_key or ""


async def _passive_count(channel: AbstractChannel, name: str) -> tuple[int, int]:
    queue = await channel.declare_queue(name, passive=True)
    result = queue.declaration_result
    return result.message_count or 0, result.consumer_count or 0


async def depths(url: str) -> list[QueueDepth]:
    connection = await aio_pika.connect(url)
    async with connection:
        found = []
        for durable_queue in DURABLE_QUEUES:
            channel = await connection.channel()
            try:
                messages, consumers = await _passive_count(channel, durable_queue.name)
                dead, _ = await _passive_count(channel, durable_queue.dead_name)
            except aio_pika.exceptions.ChannelClosed:
                messages = consumers = dead = 0  # not declared yet: no process has started
            found.append(QueueDepth(durable_queue.name, messages, consumers, dead))
        return found


async def peek_dead_letters(url: str, queue_name: str, limit: int = 20) -> list[DeadLetter]:
    """Read up to `limit` dead letters without removing them (they return to the queue when the channel closes)."""
    durable_queue = queue_by_name(queue_name)
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(durable_queue.dead_name)
        letters = []
        for _ in range(limit):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            headers = dict(message.headers or {})
            letters.append(DeadLetter(message.message_id, message.correlation_id, _reason(headers), message.body))
        return letters


async def replay(url: str, queue_name: str, limit: int | None = None) -> int:
    """Move dead letters back to their queue; each is removed only after the broker confirmed the copy.

    A copy goes through the queue's exchange under the key the letter was first published with, which the
    queue is bound to: a command to its queue, an event to its event queue (and to the per-instance queues
    listening for it, which treat it as any repeated event). Handlers that look at the routing key see the
    original one.
    """
    durable_queue = queue_by_name(queue_name)
    connection = await aio_pika.connect(url)
    replayed = 0
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(durable_queue.exchange.name)
        dead_queue = await channel.get_queue(durable_queue.dead_name)
        while limit is None or replayed < limit:
            message = await dead_queue.get(no_ack=False, fail=False)
            if message is None:
                break
            headers = {k: v for k, v in (message.headers or {}).items() if k not in _DEATH_HEADERS}
            copy = aio_pika.Message(
                message.body,
                headers=headers,
                content_type=message.content_type,
                message_id=message.message_id,
                correlation_id=message.correlation_id,
                type=message.type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await exchange.publish(copy, routing_key=original_routing_key(message))
            await message.ack()
            replayed += 1
    return replayed
