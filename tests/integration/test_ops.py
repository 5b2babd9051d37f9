"""Operator tools against a real broker: depths, dead letters with reasons, replay that completes the job."""

import json
import uuid

import pytest
from faststream import TestApp

from services.ops.queues import depths, peek_dead_letters, queue_by_name, replay
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
    assert await replay(rabbit_url, "generate") == 1
    assert {row.name: row for row in await depths(rabbit_url)}["generate"].dead_letters == 0
    assert {row.name: row for row in await depths(rabbit_url)}["generate"].messages == 1


def test_unknown_queue_names_the_known_ones():
    with pytest.raises(ValueError, match="known queues: generate, ratings, train$"):
        queue_by_name("render")
