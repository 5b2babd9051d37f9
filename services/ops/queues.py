"""Queue depths, dead-letter inspection and replay, straight over AMQP (no management plugin needed)."""

from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel

from schemas.topology import COMMAND_QUEUES, COMMANDS, ERROR_HEADER, CommandQueue

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


def queue_by_name(name: str) -> CommandQueue:
    for command_queue in COMMAND_QUEUES:
        if name in (command_queue.name, command_queue.dead_queue.name):
            return command_queue
    known = ", ".join(q.name for q in COMMAND_QUEUES)
    raise ValueError(f"unknown queue {name!r}; known queues: {known}")


async def _passive_count(channel: AbstractChannel, name: str) -> tuple[int, int]:
    queue = await channel.declare_queue(name, passive=True)
    result = queue.declaration_result
    return result.message_count or 0, result.consumer_count or 0


async def depths(url: str) -> list[QueueDepth]:
    connection = await aio_pika.connect(url)
    async with connection:
        found = []
        for command_queue in COMMAND_QUEUES:
            channel = await connection.channel()
            try:
                messages, consumers = await _passive_count(channel, command_queue.name)
                dead, _ = await _passive_count(channel, command_queue.dead_queue.name)
            except aio_pika.exceptions.ChannelClosed:
                messages = consumers = dead = 0  # not declared yet: no process has started
            found.append(QueueDepth(command_queue.name, messages, consumers, dead))
        return found


async def peek_dead_letters(url: str, queue_name: str, limit: int = 20) -> list[DeadLetter]:
    """Read up to `limit` dead letters without removing them (they return to the queue when the channel closes)."""
    command_queue = queue_by_name(queue_name)
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(command_queue.dead_queue.name)
        letters = []
        for _ in range(limit):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            headers = dict(message.headers or {})
            letters.append(DeadLetter(message.message_id, message.correlation_id, _reason(headers), message.body))
        return letters


async def replay(url: str, queue_name: str, limit: int | None = None) -> int:
    """Move dead letters back to their command queue; each is removed only after the broker confirmed the copy."""
    command_queue = queue_by_name(queue_name)
    connection = await aio_pika.connect(url)
    replayed = 0
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        commands = await channel.get_exchange(COMMANDS.name)
        dead_queue = await channel.get_queue(command_queue.dead_queue.name)
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
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await commands.publish(copy, routing_key=command_queue.routing_key)
            await message.ack()
            replayed += 1
    return replayed
