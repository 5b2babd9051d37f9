"""Queue depths, dead-letter inspection and replay, straight over AMQP (no management plugin needed)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel

from schemas.topology import DURABLE_QUEUES, ERROR_HEADER, DurableQueue, durable_queue_named
from services.cluster import connect_any
from services.messaging import job_named

# Headers the broker adds when dead-lettering; a replayed message starts its life afresh without them.
_DEATH_HEADERS = (
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-delivery-count",
    ERROR_HEADER,
)


@dataclass
class QueueDepth:
    name: str
    messages: int
    consumers: int
    dead_letters: int


@dataclass
class DeadLetter:
    message_id: str | None
    job_id: str | None  # the job the message names: its body's correlation_id, else the AMQP one
    reason: str
    body: bytes


@dataclass(frozen=True)
class LetterFilter:
    """Which dead letters an operation takes: those whose reason contains `reason` and that name `job`."""

    reason: str | None = None
    job: str | None = None

    def matches(self, letter: DeadLetter) -> bool:
        return (self.reason is None or self.reason.lower() in letter.reason.lower()) and (
            self.job is None or letter.job_id == self.job
        )


@dataclass
class Sweep:
    """What a replay or discard did: letters it looked at (those present when it began), took, and left."""

    looked_at: int = 0
    taken: int = 0

    @property
    def left(self) -> int:
        return self.looked_at - self.taken


def _reason(headers: dict[str, Any]) -> str:
    if headers.get(ERROR_HEADER):
        return str(headers[ERROR_HEADER])
    return str(headers.get("x-first-death-reason") or headers.get("x-last-death-reason") or "unknown")


def _letter(message: aio_pika.abc.AbstractIncomingMessage) -> DeadLetter:
    headers = dict(message.headers or {})
    job_id = job_named(message.body, message.correlation_id)
    return DeadLetter(message.message_id, job_id, _reason(headers), message.body)


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
    connection = await connect_any(url)
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
    async with _dead_letters_present(url, queue_name) as (_, present):
        return [_letter(message) for message in present[:limit]]


@asynccontextmanager
async def _dead_letters_present(
    url: str, queue_name: str
) -> AsyncIterator[tuple[aio_pika.abc.AbstractChannel, list[aio_pika.abc.AbstractIncomingMessage]]]:
    """The dead letters in the queue when this begins, held unacknowledged: none is seen twice, and letters
    dead-lettered while an operation runs (a replayed poison message failing again) wait for the next one.
    Those not acknowledged go back to the queue when the channel closes.
    """
    durable_queue = queue_by_name(queue_name)
    connection = await connect_any(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(durable_queue.dead_name, passive=True)
        present: list[aio_pika.abc.AbstractIncomingMessage] = []
        for _ in range(queue.declaration_result.message_count or 0):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            present.append(message)
        yield channel, present


async def replay(
    url: str,
    queue_name: str,
    limit: int | None = None,
    which: LetterFilter | None = None,
    dry_run: bool = False,
) -> Sweep:
    """Move the matching dead letters present now back to their queue, each at most once.

    A letter is removed only after the broker confirmed its copy. A copy goes through the queue's exchange
    under the key the letter was first published with, which the queue is bound to: a command to its queue,
    an event to its event queue (and to the per-instance queues listening for it, which treat it as any
    repeated event). Handlers that look at the routing key see the original one.
    """
    durable_queue = queue_by_name(queue_name)
    which = which or LetterFilter()
    sweep = Sweep()
    async with _dead_letters_present(url, queue_name) as (channel, present):
        exchange = await channel.get_exchange(durable_queue.exchange.name)
        sweep.looked_at = len(present)
        for message in present:
            if limit is not None and sweep.taken >= limit:
                break
            if not which.matches(_letter(message)):
                continue
            sweep.taken += 1
            if dry_run:
                continue
            await exchange.publish(_fresh_copy(message), routing_key=original_routing_key(message))
            await message.ack()
    return sweep


async def discard(url: str, queue_name: str, which: LetterFilter | None = None, dry_run: bool = False) -> Sweep:
    """Delete the matching dead letters present now (poison an operator has looked at)."""
    which = which or LetterFilter()
    sweep = Sweep()
    async with _dead_letters_present(url, queue_name) as (_, present):
        sweep.looked_at = len(present)
        for message in present:
            if which.matches(_letter(message)):
                sweep.taken += 1
                if not dry_run:
                    await message.ack()
    return sweep


def _fresh_copy(message: aio_pika.abc.AbstractIncomingMessage) -> aio_pika.Message:
    headers = {k: v for k, v in (message.headers or {}).items() if k not in _DEATH_HEADERS}
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        type=message.type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
