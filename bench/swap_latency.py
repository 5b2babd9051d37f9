"""Time from AdapterPromoted to the first image made with the new adapter, through the real broker.

Starts SeaweedFS and SecantusDB (as `logoforge dev` does), uses RabbitMQ on 127.0.0.1:5672 in a fresh
vhost, runs a generator in this process, registers two adapters and alternates promotions. After each
promotion it keeps submitting one 64 px, 2-step job at a time until a LogoGenerated names the new adapter.
"""

import asyncio
import statistics
import time
import uuid

import aio_pika

from bench.common import local_services, settings_fields
from schemas.generation import GenerateLogo, GenerationParams
from schemas.topology import EVENTS
from services.messaging import make_broker, publish
from services.storage.adapters import AdapterRegistry
from workers.generator.settings import GeneratorSettings
from workers.trainer.synthetic import random_adapter


class Completions:
    """LogoGenerated events by job id, delivered to futures."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future] = {}
        self.loaded: dict[str, float] = {}

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        import json

        body = json.loads(message.body)
        if message.routing_key == "adapter.loaded":
            self.loaded.setdefault(body["version"], time.perf_counter())
            return
        future = self.waiting.pop(body.get("correlation_id"), None)
        if future is not None and not future.done():
            future.set_result((time.perf_counter(), body))


async def measure_swap(model: str, rounds: int) -> dict:
    from faststream import TestApp

    from workers.generator.app import build_generator
    from workers.trainer.artifacts import adapter_key

    with local_services() as env:
        settings = GeneratorSettings(**settings_fields(env), model=model, progress_interval_s=60)
        app = build_generator(settings)
        async with TestApp(app):
            return await _rounds(settings, app, rounds, adapter_key)


async def _rounds(settings: GeneratorSettings, app, rounds: int, adapter_key) -> dict:
    from pymongo import AsyncMongoClient

    from services.storage.s3 import ObjectStore

    store = ObjectStore.from_settings(settings)
    client = AsyncMongoClient(settings.mongo_url)
    registry = AdapterRegistry(client[settings.mongo_db])
    for version, seed in (("bench-a", 1), ("bench-b", 2)):
        await store.put(adapter_key(version), await asyncio.to_thread(random_adapter, settings.model, seed))
        await registry.register(version, version, adapter_key(version), {}, {})
    completions = Completions()
    connection = await aio_pika.connect(settings.rabbit_url)
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    events = await channel.get_exchange(EVENTS.name)
    await queue.bind(events, routing_key="generation.completed")
    await queue.bind(events, routing_key="adapter.loaded")
    await queue.consume(completions.on_message, no_ack=True)
    broker = make_broker(settings.rabbit_url)
    await broker.connect()
    latencies, loads, jobs_needed = [], [], []
    for round_ in range(rounds):
        version = ("bench-a", "bench-b")[round_ % 2]
        event = await registry.promote(version)
        completions.loaded.pop(version, None)
        promoted_at = time.perf_counter()
        await publish(broker, event)
        for jobs in range(1, 1000):
            finished_at, body = await _one_job(broker, completions)
            if body.get("adapter") == version:
                latencies.append(finished_at - promoted_at)
                loads.append(completions.loaded.get(version, finished_at) - promoted_at)
                jobs_needed.append(jobs)
                break
    await broker.stop()
    await connection.close()
    await client.close()
    result = {
        "latencies_s": latencies,
        "median_s": statistics.median(latencies),
        "jobs_needed": jobs_needed,
        "loaded_s": loads,
        "loaded_median_s": statistics.median(loads),
    }
    print(
        f"AdapterPromoted -> AdapterLoaded (generator serves it): median {result['loaded_median_s']:.2f} s "
        f"({', '.join(f'{x:.2f}' for x in loads)} s)"
    )
    print(
        f"AdapterPromoted -> first image with it: median {result['median_s']:.2f} s over {rounds} promotions "
        f"({', '.join(f'{x:.2f}' for x in latencies)} s; jobs until then: {jobs_needed})"
    )
    return result


async def _one_job(broker, completions: Completions) -> tuple[float, dict]:
    job_id = uuid.uuid4().hex
    future = asyncio.get_running_loop().create_future()
    completions.waiting[job_id] = future
    params = GenerationParams(prompt="a logo of a red circle", height=64, width=64, num_steps=2, seed=1)
    await publish(broker, GenerateLogo(correlation_id=job_id, params=params))
    return await asyncio.wait_for(future, 120)
