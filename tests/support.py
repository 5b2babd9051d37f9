"""Test helpers that wait for what the system announces instead of sleeping."""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aio_pika

from schemas.topology import EVENTS


@dataclass
class Received:
    routing_key: str
    body: dict[str, Any]
    headers: dict[str, Any]


class EventCollector:
    """Binds an exclusive queue to every event and lets a test await the one it expects."""

    def __init__(self, url: str, binding: str = "#", exchange: str = EVENTS.name) -> None:
        self._url = url
        self._binding = binding
        self._exchange_name = exchange
        self.received: list[Received] = []
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> "EventCollector":
        self._connection = await aio_pika.connect_robust(self._url)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
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

    async def for_job(self, job_id: str, routing_key: str, timeout_s: float = 60) -> Received:
        return await self.wait(
            lambda e: e.routing_key == routing_key and e.body.get("correlation_id") == job_id,
            timeout_s,
            f"{routing_key} for job {job_id}",
        )


class ServedApp:
    """Runs an ASGI app under a real uvicorn on a free port for the duration of a test."""

    def __init__(self, app) -> None:  # noqa: ANN001
        import uvicorn

        from services.devstack import free_port
        from services.serving import NotifyingServer

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = NotifyingServer(config)

    async def __aenter__(self) -> "ServedApp":
        from services.serving import serve_until_listening

        self._task = await serve_until_listening(self.server)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self._task, 30)
