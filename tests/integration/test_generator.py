"""The generator against real RabbitMQ, SeaweedFS and SecantusDB, driven as an internal service would."""

import json
import threading
import uuid

import aio_pika
import pytest
from faststream import TestApp
from pymongo import AsyncMongoClient

from schemas.generation import GenerationParams
from schemas.topology import COMMANDS
from services.storage.s3 import ObjectStore
from workers.generator.app import build_generator
from workers.generator.pipeline import Interrupted

pytestmark = pytest.mark.asyncio


def command_body(job_id: str, **params) -> dict:
    """A GenerateLogo command exactly as the documented contract spells it, built without our own classes."""
    return {
        "message_id": uuid.uuid4().hex,
        "correlation_id": job_id,
        "occurred_at": "2026-11-30T12:00:00Z",
        "schema_version": 1,
        "params": {"prompt": "a logo of a fox", "height": 64, "width": 64, "num_steps": 2, **params},
        "requester": {"channel": "internal", "user_id": "svc-billing"},
    }


async def publish_raw(rabbit_url: str, body: bytes, routing_key: str = "generate") -> None:
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(COMMANDS.name)
        await exchange.publish(
            aio_pika.Message(body, content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=routing_key,
        )


@pytest.fixture
async def generator_app(generator_settings, shared_model):
    app = build_generator(generator_settings, model=shared_model)
    async with TestApp(app):
        yield app


async def test_internal_service_publishes_generate_and_receives_logo_generated(
    generator_app, generator_settings, rabbit_url, events
):
    job_id = uuid.uuid4().hex
    await publish_raw(rabbit_url, json.dumps(command_body(job_id, num_images=2, seed=7)).encode())

    done = await events.for_job(job_id, "generation.completed")
    assert done.body["seed"] == 7
    assert [image["key"] for image in done.body["images"]] == [f"images/{job_id}/0.png", f"images/{job_id}/1.png"]
    assert done.body["nsfw_checked"] is False
    started = await events.for_job(job_id, "generation.started", timeout_s=1)
    assert started.body["total_steps"] == 2

    store = ObjectStore.from_settings(generator_settings)
    png = await store.get(f"images/{job_id}/1.png")
    assert png.body.startswith(b"\x89PNG")
    client = AsyncMongoClient(generator_settings.mongo_url)
    job = await client[generator_settings.mongo_db].jobs.find_one({"_id": job_id})
    assert job["status"] == "succeeded"
    assert job["requester"]["user_id"] == "svc-billing"
    await client.close()


async def test_setting_stop_ends_the_denoising_loop_at_the_next_step(shared_model):
    """What the generator relies on to drop a drawing it started before the job turned out to be done."""
    stop = threading.Event()
    steps: list[int] = []

    def on_step(step: int, total_steps: int) -> None:
        steps.append(step)
        if step == 2:
            stop.set()

    params = GenerationParams(prompt="a logo of a fox", height=64, width=64, num_steps=10)
    with pytest.raises(Interrupted):
        await shared_model.submit(params, 1, on_step, None, stop)
    assert steps == [1, 2]

    with pytest.raises(Interrupted):
        await shared_model.submit(params, 1, None, None, stop)
