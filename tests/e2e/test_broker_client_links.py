"""An internal service on the broker gets its images over HTTP: LogoGenerated carries signed links to them."""

import json
import uuid

import httpx
import pytest
from faststream import TestApp

from services.storage.s3 import ObjectStore
from tests.integration.test_generator import command_body, publish_raw
from workers.generator.app import build_generator

pytestmark = pytest.mark.asyncio


async def test_logo_generated_links_fetch_the_stored_pngs_without_any_key(
    api, api_settings, generator_settings, shared_model, rabbit_url, events
):
    settings = generator_settings.model_copy(
        update={"public_url": api.url, "url_signing_key": api_settings.url_signing_key}
    )
    job_id = uuid.uuid4().hex
    async with TestApp(build_generator(settings, model=shared_model)):
        await publish_raw(rabbit_url, json.dumps(command_body(job_id, num_images=2)).encode())
        generated = await events.for_job(job_id, "generation.completed")
    images = generated.body["images"]
    assert [image["url"].split("?")[0] for image in images] == [f"{api.url}/static/{image['key']}" for image in images]
    store = ObjectStore.from_settings(api_settings)
    async with httpx.AsyncClient(timeout=30) as anyone:  # no X-API-Key, no S3 credentials
        for image in images:
            response = await anyone.get(image["url"])
            assert response.status_code == 200 and response.headers["content-type"] == "image/png"
            assert response.content == (await store.get(image["key"])).body
        forged = images[0]["url"].replace(images[0]["key"], images[1]["key"])
        assert (await anyone.get(forged)).status_code == 401


async def test_without_a_public_url_the_event_carries_keys_only(generator_settings, shared_model, rabbit_url, events):
    job_id = uuid.uuid4().hex
    async with TestApp(build_generator(generator_settings, model=shared_model)):
        await publish_raw(rabbit_url, json.dumps(command_body(job_id)).encode())
        generated = await events.for_job(job_id, "generation.completed")
    assert [image["url"] for image in generated.body["images"]] == [None]
