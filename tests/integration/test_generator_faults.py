"""Delivery rules of the generator: dead letters with reasons, retries while a store is down, one effect."""

import json
import logging
import uuid

import aio_pika
import pytest
from faststream import TestApp
from pymongo import AsyncMongoClient

from logoforge.devstack import free_port
from schemas.topology import DELIVERY_LIMIT, ERROR_HEADER, GENERATE
from services.ops.queues import depths
from services.storage.errors import StoreUnavailable
from services.storage.s3 import ObjectStore
from tests.integration.test_generator import command_body, publish_raw
from tests.support import publish_body
from workers.generator.app import build_generator

pytestmark = pytest.mark.asyncio


async def next_dead_letter(rabbit_url: str, queue_name: str, timeout_s: float = 60) -> aio_pika.IncomingMessage:
    """Consume the first message that reaches a dead-letter queue."""
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name)
        async with queue.iterator(timeout=timeout_s) as messages:
            async for message in messages:
                await message.ack()
                return message
    raise AssertionError(f"nothing reached {queue_name}")


async def test_malformed_messages_are_dead_lettered_with_reason_and_the_worker_goes_on(
    generator_settings, shared_model, rabbit_url, events
):
    async with TestApp(build_generator(generator_settings, model=shared_model)):
        await publish_raw(rabbit_url, b"{not json")
        bad_height = command_body(uuid.uuid4().hex, height=500)
        await publish_raw(rabbit_url, json.dumps(bad_height).encode())
        good_job = uuid.uuid4().hex
        await publish_raw(rabbit_url, json.dumps(command_body(good_job)).encode())

        await events.for_job(good_job, "generation.completed")
        failed = await events.for_job(bad_height["correlation_id"], "generation.failed")
        first = await next_dead_letter(rabbit_url, GENERATE.dead_queue.name)
        second = await next_dead_letter(rabbit_url, GENERATE.dead_queue.name)
    reasons = sorted([first.headers[ERROR_HEADER], second.headers[ERROR_HEADER]])
    assert "JSONDecodeError" in reasons[0] or "invalid" in reasons[0]
    assert any("height must be a multiple of 8, got 500" in reason for reason in reasons)
    assert any(message.body == b"{not json" for message in (first, second))
    # The sender of the invalid command hears about it on its job's events, with the field named.
    assert failed.body["kind"] == "invalid"
    assert "params.height" in failed.body["reason"] and "multiple of 8, got 500" in failed.body["reason"]


async def test_s3_down_is_retried_until_the_delivery_limit_then_dead_lettered(
    generator_settings, shared_model, rabbit_url, events
):
    settings = generator_settings.model_copy(update={"s3_endpoint": f"http://127.0.0.1:{free_port()}"})
    job_id = uuid.uuid4().hex
    app = build_generator(settings, model=shared_model)
    # The bucket check at start-up would fail too: let the worker start, as it would have before S3 went down.
    generator = app.broker.context.get("generator")
    generator.store.ensure_bucket = _noop
    real_put = generator.store.put
    attempts = []

    async def counting_put(*args, **kwargs) -> None:
        attempts.append(args[0])
        await real_put(*args, **kwargs)

    generator.store.put = counting_put
    async with TestApp(app):
        await publish_raw(rabbit_url, json.dumps(command_body(job_id)).encode())
        dead = await next_dead_letter(rabbit_url, GENERATE.dead_queue.name, timeout_s=120)
        failed = await events.for_job(job_id, "generation.failed")
    assert json.loads(dead.body)["correlation_id"] == job_id
    assert dead.headers["x-first-death-reason"] == "delivery_limit"
    # The first delivery plus DELIVERY_LIMIT redeliveries, each one a real attempt at the upload.
    assert len(attempts) == DELIVERY_LIMIT + 1
    assert "S3 unreachable" in failed.body["reason"]


async def _noop() -> None:
    return None


async def test_mongodb_failing_is_retried_and_the_job_completes_once_it_recovers(
    generator_settings, shared_model, mongo_server, rabbit_url, events
):
    admin = AsyncMongoClient(mongo_server.url)
    await admin.admin.command(
        "configureFailPoint",
        "failCommand",
        mode={"times": 3},
        data={"failCommands": ["findAndModify"], "closeConnection": True},
    )
    job_id = uuid.uuid4().hex
    try:
        async with TestApp(build_generator(generator_settings, model=shared_model)):
            await publish_raw(rabbit_url, json.dumps(command_body(job_id)).encode())
            done = await events.for_job(job_id, "generation.completed")
    finally:
        await admin.admin.command("configureFailPoint", "failCommand", mode="off")
        await admin.close()
    assert len(done.body["images"]) == 1


async def test_the_device_running_out_of_memory_is_retried_not_dead_lettered(
    generator_settings, shared_model, rabbit_url, events, caplog
):
    """torch's OutOfMemoryError inside the pipeline: the command goes back to its queue and the job completes."""
    import torch

    real_pipeline = shared_model.pipeline
    calls = []

    class OutOfMemoryOnce:
        """The shared pipeline, whose first call runs out of device memory."""

        def __call__(self, *args, **kwargs):
            calls.append(len(kwargs["prompt_embeds"]))
            if len(calls) == 1:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return real_pipeline(*args, **kwargs)

        def __getattr__(self, name: str):
            return getattr(real_pipeline, name)

    job_id = uuid.uuid4().hex
    caplog.set_level(logging.WARNING, logger="services.messaging")
    shared_model.pipeline = OutOfMemoryOnce()
    try:
        async with TestApp(build_generator(generator_settings, model=shared_model)):
            await publish_raw(rabbit_url, json.dumps(command_body(job_id)).encode())
            done = await events.for_job(job_id, "generation.completed")
    finally:
        shared_model.pipeline = real_pipeline
    assert len(calls) == 2
    assert len(done.body["images"]) == 1
    assert not [e for e in events.received if e.routing_key == "generation.failed"]
    assert {row.name: row for row in await depths(rabbit_url)}["generate"].dead_letters == 0
    retried = [r.getMessage() for r in caplog.records if r.name == "services.messaging"]
    assert any("retryable failure" in line and "DeviceOutOfMemory: drawing" in line for line in retried), retried


async def test_redelivery_after_images_were_written_has_one_effect(
    generator_settings, shared_model, rabbit_url, events
):
    app = build_generator(generator_settings, model=shared_model)
    generator = app.broker.context.get("generator")
    real_record = generator.jobs.record_success
    calls = {"record": 0, "generate": 0}

    async def record_then_lose_the_ack(*args, **kwargs) -> bool:
        recorded = await real_record(*args, **kwargs)
        calls["record"] += 1
        if calls["record"] == 1:  # written, but the worker "dies" before acknowledging
            raise StoreUnavailable("connection dropped after the write")
        return recorded

    real_submit = generator.model.submit

    def counting_submit(*args, **kwargs):
        calls["generate"] += 1
        return real_submit(*args, **kwargs)

    generator.jobs.record_success = record_then_lose_the_ack
    generator.model = _ModelProxy(generator.model, counting_submit)
    job_id = uuid.uuid4().hex
    async with TestApp(app):
        await publish_raw(rabbit_url, json.dumps(command_body(job_id, num_images=2)).encode())
        done = await events.for_job(job_id, "generation.completed")

    assert calls == {"record": 1, "generate": 1}
    client = AsyncMongoClient(generator_settings.mongo_url)
    db = client[generator_settings.mongo_db]
    assert await db.jobs.count_documents({"_id": job_id}) == 1
    assert await db.images.count_documents({"job_id": job_id}) == 2
    await client.close()
    keys = await ObjectStore.from_settings(generator_settings).list_keys(f"images/{job_id}/")
    assert sorted(keys) == [f"images/{job_id}/0.png", f"images/{job_id}/1.png"]
    assert len(done.body["images"]) == 2
    completed = [e for e in events.received if e.routing_key == "generation.completed"]
    assert len(completed) == 1


async def test_a_command_published_twice_draws_once_though_drawing_starts_before_the_claim(
    generator_settings, shared_model, rabbit_url, events
):
    """First deliveries draw while the job is claimed; the claim of a finished job stops that drawing."""
    app = build_generator(generator_settings, model=shared_model)
    generator = app.broker.context.get("generator")
    real_record, real_submit = generator.jobs.record_success, generator.model.submit
    calls = {"record": 0, "submit": 0}
    stop_events = []

    async def counting_record(*args, **kwargs) -> bool:
        calls["record"] += 1
        return await real_record(*args, **kwargs)

    def counting_submit(*args, **kwargs):
        calls["submit"] += 1
        stop_events.append(args[4])
        return real_submit(*args, **kwargs)

    generator.jobs.record_success = counting_record
    generator.model = _ModelProxy(generator.model, counting_submit)
    job_id = uuid.uuid4().hex
    body = json.dumps(command_body(job_id, num_steps=30)).encode()
    async with TestApp(app):
        await publish_raw(rabbit_url, body)
        first = await events.for_job(job_id, "generation.completed")
        await publish_raw(rabbit_url, body)  # a publisher that sent it again: a first delivery, not a redelivery
        both = await events.wait_count(
            lambda e: e.routing_key == "generation.completed" and e.body["correlation_id"] == job_id, 2
        )

    assert calls == {"record": 1, "submit": 2}
    assert stop_events[1].is_set() and not stop_events[0].is_set()
    assert both[1].body["images"] == first.body["images"]
    client = AsyncMongoClient(generator_settings.mongo_url)
    assert await client[generator_settings.mongo_db].images.count_documents({"job_id": job_id}) == 1
    await client.close()


class _ModelProxy:
    """The shared model with `submit` replaced, so a test can count drawings without touching the original."""

    def __init__(self, model, submit) -> None:
        self._model = model
        self.submit = submit

    def __getattr__(self, name: str):
        return getattr(self._model, name)


async def test_a_body_that_is_not_json_is_dead_lettered_as_such_and_its_job_hears_it(
    generator_settings, shared_model, rabbit_url, events
):
    from schemas.topology import COMMANDS

    job_id = uuid.uuid4().hex
    async with TestApp(build_generator(generator_settings, model=shared_model)):
        connection = await aio_pika.connect(rabbit_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(COMMANDS.name)
            # Bytes no JSON decoder reads (the codec guess would say utf-16); the job is named only by AMQP.
            body = b"\xff\xfe\x00\xd8 not json"
            await exchange.publish(
                aio_pika.Message(body, correlation_id=job_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key="generate",
            )
        failed = await events.for_job(job_id, "generation.failed")
        letter = await next_dead_letter(rabbit_url, GENERATE.dead_queue.name)
    assert failed.body["kind"] == "invalid" and "body is not JSON" in failed.body["reason"]
    assert "body is not JSON" in letter.headers[ERROR_HEADER] and letter.body == body


async def test_a_command_that_names_its_job_only_in_the_amqp_correlation_id_is_drawn_for_that_job(
    generator_settings, shared_model, rabbit_url, events
):
    from schemas.generation import GenerateLogo, GenerationParams

    job_id = uuid.uuid4().hex
    command = GenerateLogo(
        correlation_id=job_id, params=GenerationParams(prompt="a heron", height=64, width=64, num_steps=1)
    )
    body = command.model_dump(mode="json", exclude={"correlation_id"})
    async with TestApp(build_generator(generator_settings, model=shared_model)):
        await publish_body(rabbit_url, "generate", json.dumps(body).encode(), correlation_id=job_id)
        generated = await events.for_job(job_id, "generation.completed")
    assert generated.body["correlation_id"] == job_id and len(generated.body["images"]) == 1
