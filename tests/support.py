"""Test helpers that wait for what the system announces instead of sleeping."""

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aio_pika

from schemas.base import Message, new_id, utcnow
from schemas.topology import EVENTS


@dataclass
class Received:
    routing_key: str
    body: dict[str, Any]
    headers: dict[str, Any]


class EventCollector:
    """Binds an exclusive queue to every event and lets a test await the one it expects."""

    def __init__(
        self,
        url: str,
        binding: str = "#",
        exchange: str = EVENTS.name,
        exchange_type: aio_pika.ExchangeType = aio_pika.ExchangeType.TOPIC,
    ) -> None:
        self._url = url
        self._binding = binding
        self._exchange_name = exchange
        self._exchange_type = exchange_type  # DIRECT with COMMANDS: a copy of every command of one kind
        self.received: list[Received] = []
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> "EventCollector":
        self._connection = await aio_pika.connect_robust(self._url)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(self._exchange_name, self._exchange_type, durable=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=self._binding)
        await queue.consume(self._on_message, no_ack=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with self._changed:
            self.received.append(
                Received(message.routing_key or "", json.loads(message.body), dict(message.headers or {}))
            )
            self._changed.notify_all()

    async def wait(self, match: Callable[[Received], bool], timeout_s: float = 60, what: str = "event") -> Received:
        """Return the first received event that matches, waiting up to `timeout_s` for it."""

        def found() -> Received | None:
            return next((event for event in self.received if match(event)), None)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(found), timeout_s)
            except TimeoutError:
                seen = [event.routing_key for event in self.received]
                raise AssertionError(f"no {what} within {timeout_s}s; saw {seen}") from None
        event = found()
        assert event is not None
        return event

    async def wait_count(
        self, match: Callable[[Received], bool], count: int, timeout_s: float = 60, what: str = "events"
    ) -> list[Received]:
        """Wait until `count` received events match; return them all."""

        def matching() -> list[Received]:
            return [event for event in self.received if match(event)]

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(matching()) >= count), timeout_s)
            except TimeoutError:
                raise AssertionError(f"{len(matching())} of {count} {what} within {timeout_s}s") from None
        return matching()

    async def for_job(self, job_id: str, routing_key: str, timeout_s: float = 60) -> Received:
        return await self.wait(
            lambda e: e.routing_key == routing_key and e.body.get("correlation_id") == job_id,
            timeout_s,
            f"{routing_key} for job {job_id}",
        )


class ServedApp:
    """Runs an ASGI app under a real uvicorn on a free port for the duration of a test."""

    def __init__(self, app) -> None:
        import uvicorn

        from logoforge.devstack import free_port
        from logoforge.serving import NotifyingServer

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = NotifyingServer(config)

    async def __aenter__(self) -> "ServedApp":
        from logoforge.serving import serve_until_listening

        self._task = await serve_until_listening(self.server)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self._task, 30)


async def publish_command(rabbit_url: str, command: Message) -> None:
    """Publish a command as any client of the contract would: JSON body, persistent, confirmed."""
    await publish_body(rabbit_url, command.routing_key, command.model_dump_json().encode(), command.message_id)


async def publish_commands(rabbit_url: str, commands: list[Message]) -> None:
    """Publish many commands at once on one connection, each confirmed."""
    from schemas.topology import COMMANDS

    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(COMMANDS.name)
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(
                        command.model_dump_json().encode(),
                        content_type="application/json",
                        message_id=command.message_id,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=command.routing_key,
                )
                for command in commands
            )
        )


async def publish_body(
    rabbit_url: str, routing_key: str, body: bytes, message_id: str | None = None, correlation_id: str | None = None
) -> None:
    """Publish raw bytes to the commands exchange (also bodies our own classes would refuse to build)."""
    from schemas.topology import COMMANDS

    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(COMMANDS.name)
        await exchange.publish(
            aio_pika.Message(
                body,
                content_type="application/json",
                message_id=message_id,
                correlation_id=correlation_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
        )


async def drain_queue(rabbit_url: str, queue_name: str) -> list[Received]:
    """Take every message that is in a queue now (acknowledging them); the queue must exist."""
    connection = await aio_pika.connect(rabbit_url)
    taken: list[Received] = []
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name, ensure=True)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            taken.append(Received(message.routing_key or "", json.loads(message.body), dict(message.headers or {})))
    return taken


async def next_message(rabbit_url: str, queue_name: str, timeout_s: float = 30) -> Received:
    """Wait for the next message on a queue (consuming it), up to `timeout_s`."""
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name, ensure=True)
        async with queue.iterator() as messages:
            try:
                message = await asyncio.wait_for(anext(aiter(messages)), timeout_s)
            except TimeoutError:
                raise AssertionError(f"nothing arrived on {queue_name} within {timeout_s}s") from None
            await message.ack()
            return Received(message.routing_key or "", json.loads(message.body), dict(message.headers or {}))


async def record_generated_job(
    db, user_id: str, prompt: str = "a logo of an owl", num_images: int = 1, failed: bool = False
) -> list[str]:
    """Write a finished job and its images exactly as the generator does (its own repository code).

    `failed`: the job ends failed after its images were stored (its final update was lost, then it gave up).
    """
    from schemas.generation import GenerateLogo, GenerationParams, ImageRef, Requester
    from services.storage.jobs import JobRepository

    jobs = JobRepository(db)
    command = GenerateLogo(
        correlation_id=new_id(),
        params=GenerationParams(prompt=prompt, num_images=num_images, height=64, width=64, num_steps=1),
        requester=Requester(user_id=user_id),
    )
    job_id = command.correlation_id
    await jobs.mark_running(command, 7, "tiny", None)
    images = [ImageRef(image_id=f"{job_id}-{n}", index=n, key=f"images/{job_id}/{n}.png") for n in range(num_images)]
    await jobs.record_success(command, images, 7, nsfw_checked=False)
    if failed:
        await db.jobs.update_one({"_id": job_id}, {"$set": {"status": "failed", "error": "gave up"}})
    return [image.image_id for image in images]


async def record_dataset_manifest(db, name: str, count: int = 3) -> None:
    """A dataset manifest as `logoforge datasets import` leaves it, for tests that only need the name to exist."""
    await db.datasets.insert_one(
        {
            "_id": name,
            "name": name,
            "import_id": "test",
            "prefix": f"datasets/{name}/test/",
            "index_key": f"datasets/{name}/test/index.jsonl",
            "count": count,
            "layout": "parquet",
            "skipped_count": 0,
            "skipped": [],
            "created_at": utcnow(),
        }
    )


def small_job(number: int, images: int = 2, steps: int = 8, subject: str = "a fox") -> Any:
    """A small GenerateLogo for fault runs: 64×64, its own seed and prompt."""
    from schemas.generation import GenerateLogo, GenerationParams

    params = GenerationParams(
        prompt=f"a logo of {subject}, number {number}",
        seed=number,
        num_images=images,
        height=64,
        width=64,
        num_steps=steps,
    )
    return GenerateLogo(correlation_id=uuid.uuid4().hex, params=params)
