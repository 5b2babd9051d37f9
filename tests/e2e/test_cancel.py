"""POST /jobs/{id}/cancel: a queued job is skipped, a running one stops; it ends `cancelled`, with one event and
nothing stored; a second cancel answers the same, a cancel after success is refused plainly."""

import uuid

import httpx
import pytest
from faststream import TestApp

from services.settings import DEV_API_KEY
from services.storage.s3 import ObjectStore
from workers.generator.app import build_generator

pytestmark = pytest.mark.asyncio

SMALL = {"prompt": "a logo of a heron", "num_images": 1, "height": 64, "width": 64, "num_steps": 2}


def client_for(api, user: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=api.url, headers={"X-API-Key": DEV_API_KEY, "X-User-Id": user}, timeout=120)


def events_of(events, job_id: str, routing_key: str) -> list:
    return [e for e in events.received if e.routing_key == routing_key and e.body["correlation_id"] == job_id]


async def test_a_queued_job_cancelled_is_skipped_when_its_command_arrives(
    api, api_settings, generator_settings, shared_model, events
):
    async with client_for(api, "canceller") as owner, client_for(api, "someone-else") as other:
        job_id = (await owner.post("/jobs", json=SMALL)).json()["job_id"]  # no generator runs yet: queued
        assert (await other.post(f"/jobs/{job_id}/cancel")).status_code == 404
        cancelled = await owner.post(f"/jobs/{job_id}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        await events.for_job(job_id, "generation.cancelled")
        again = await owner.post(f"/jobs/{job_id}/cancel")
        assert again.status_code == 200 and again.json()["status"] == "cancelled"

        async with TestApp(build_generator(generator_settings, model=shared_model)):
            later = (await owner.post("/generate", json=SMALL)).json()  # drawn after the cancelled command
            done = (await owner.get(f"/jobs/{job_id}")).json()
        refused = await owner.post(f"/jobs/{later['job_id']}/cancel")
    assert refused.status_code == 409 and "already succeeded: nothing to cancel" in refused.json()["detail"]
    assert refused.json()["code"] == "job-ended" and refused.json()["values"] == {"status": "succeeded"}
    assert done["status"] == "cancelled" and done["images"] == []
    assert events_of(events, job_id, "generation.started") == []
    assert len(events_of(events, job_id, "generation.cancelled")) == 1
    assert await ObjectStore.from_settings(api_settings).list_keys(f"images/{job_id}/") == []


async def test_a_running_job_stops_and_stores_nothing(api, api_settings, generator, events):
    async with client_for(api, "canceller") as owner:
        long = {**SMALL, "num_steps": 150, "seed": 1}
        job_id = (await owner.post("/jobs", json=long)).json()["job_id"]
        await events.wait(
            lambda e: (
                e.routing_key == "generation.progress" and e.body["correlation_id"] == job_id and e.body["step"] >= 2
            ),
            timeout_s=120,
            what="the long job drawing",
        )
        cancelled = await owner.post(f"/jobs/{job_id}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        # The generator is free again: a job sent now is drawn (after the cancelled one has let go of the model).
        after = await owner.post("/generate", json={**SMALL, "seed": 2, "prompt": uuid.uuid4().hex})
        assert after.status_code == 200, after.text
        record = (await owner.get(f"/jobs/{job_id}")).json()
    assert record["status"] == "cancelled" and record["images"] == []
    assert record["progress"]["step"] < 150  # it stopped early
    assert events_of(events, job_id, "generation.completed") == []
    assert len(events_of(events, job_id, "generation.cancelled")) == 1
    assert await ObjectStore.from_settings(api_settings).list_keys(f"images/{job_id}/") == []
