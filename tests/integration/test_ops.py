"""Operator tools against a real broker: depths, dead letters with reasons, replay that completes the job."""

import json
import uuid

import aio_pika
import pytest
from faststream import TestApp

from logoforge.devstack import wait_until
from schemas.generation import GenerationFailed
from schemas.topology import BOT_EVENTS
from services.messaging import declare_topology, make_broker, publish
from services.ops.queues import LetterFilter, depths, discard, peek_dead_letters, queue_by_name, replay
from tests.integration.test_generator import command_body, publish_raw
from workers.generator.app import build_generator


async def test_replay_redrives_a_dead_letter_to_completion(generator_settings, shared_model, rabbit_url, events):
    job_id = uuid.uuid4().hex
    body = command_body(job_id)
    async with TestApp(build_generator(generator_settings, model=shared_model)):
        # Unknown field: rejected as invalid and dead-lettered.
        await publish_raw(rabbit_url, json.dumps({**body, "priority": "high"}).encode())
        await publish_raw(rabbit_url, json.dumps(command_body(uuid.uuid4().hex)).encode())
        await events.wait(lambda e: e.routing_key == "generation.completed", what="the valid job")

        [letter] = await peek_dead_letters(rabbit_url, "generate")
        assert "priority" in letter.reason and "Extra inputs" in letter.reason
        generate = {row.name: row for row in await depths(rabbit_url)}["generate"]
        assert generate.dead_letters == 1 and generate.consumers == 1

    # An operator fixes the producer; here: strip the field from the stored letter and replay it.
    assert (await replay(rabbit_url, "generate")).taken == 1
    assert {row.name: row for row in await depths(rabbit_url)}["generate"].dead_letters == 0
    assert {row.name: row for row in await depths(rabbit_url)}["generate"].messages == 1


def test_unknown_queue_names_the_known_ones():
    with pytest.raises(
        ValueError, match="known queues: generate, ratings, train, assets.requests, bot.events, assets, bot.assets"
    ):
        queue_by_name("render")


async def test_bot_events_dead_letters_are_counted_and_replayed_under_their_own_key(rabbit_url):
    """bot.events is declared with the rest of the topology, and its dead letters go back to it as they came."""
    broker = make_broker(rabbit_url)
    async with broker:
        await declare_topology(broker)
        failed = GenerationFailed(correlation_id=uuid.uuid4().hex, reason="out of memory")
        await publish(broker, failed)

    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel()
        events = await channel.get_queue(BOT_EVENTS.name)
        delivered = await events.get(timeout=5)
        await delivered.reject(requeue=False)  # dead-lettered by the broker

        [letter] = await peek_dead_letters(rabbit_url, BOT_EVENTS.name)
        assert letter.job_id == failed.correlation_id and letter.reason == "rejected"
        row = {row.name: row for row in await depths(rabbit_url)}[BOT_EVENTS.name]
        assert (row.messages, row.dead_letters) == (0, 1)

        assert (await replay(rabbit_url, BOT_EVENTS.name)).taken == 1
        again = await events.get(timeout=5)
        assert again.routing_key == GenerationFailed.routing_key
        assert GenerationFailed.model_validate_json(again.body) == failed
        await again.ack()
    assert {row.name: row for row in await depths(rabbit_url)}[BOT_EVENTS.name].dead_letters == 0


async def test_replay_takes_each_letter_present_once_even_when_poison_fails_again(
    generator_settings, shared_model, rabbit_url, events
):
    """Poison that is dead-lettered again while a replay runs waits for the next replay: the replay ends."""
    poison = [command_body(uuid.uuid4().hex, height=500) for _ in range(5)]
    async with TestApp(build_generator(generator_settings, model=shared_model)):
        for body in poison:
            await publish_raw(rabbit_url, json.dumps(body).encode())
        await events.wait_count(lambda e: e.routing_key == "generation.failed", 5, what="five failures")
        letters = await peek_dead_letters(rabbit_url, "generate")
        assert len(letters) == 5 and all("multiple of 8, got 500" in letter.reason for letter in letters)

        dry = await replay(rabbit_url, "generate", dry_run=True)
        assert (dry.looked_at, dry.taken) == (5, 5)
        assert len(await peek_dead_letters(rabbit_url, "generate")) == 5

        swept = await replay(rabbit_url, "generate")
        assert (swept.looked_at, swept.taken) == (5, 5)
        # Each replayed copy fails again and comes back once: five letters, not an endless loop.
        await events.wait_count(lambda e: e.routing_key == "generation.failed", 10, what="ten failures")

    async def five_letters_back() -> bool:
        return len(await peek_dead_letters(rabbit_url, "generate")) == 5

    await wait_until(five_letters_back, 30, "the five letters back in generate.dead")
    assert (await discard(rabbit_url, "generate", LetterFilter(reason="no such reason"))).taken == 0
    assert (await discard(rabbit_url, "generate", LetterFilter(reason="multiple of 8"))).taken == 5
    assert await peek_dead_letters(rabbit_url, "generate") == []


async def test_dead_letters_name_the_job_in_their_body(rabbit_url, generator_settings, shared_model, events):
    job_id = uuid.uuid4().hex
    async with TestApp(build_generator(generator_settings, model=shared_model)):
        await publish_raw(rabbit_url, json.dumps(command_body(job_id, height=500)).encode())
        await events.for_job(job_id, "generation.failed")
    [letter] = await peek_dead_letters(rabbit_url, "generate")
    assert letter.job_id == job_id
    assert (await replay(rabbit_url, "generate", which=LetterFilter(job="another"))).taken == 0
    assert (await replay(rabbit_url, "generate", which=LetterFilter(job=job_id), dry_run=True)).taken == 1
