"""Logo assets through the real services: the generator draws, the assets worker (its own FastStream app on the
test's RabbitMQ, SeaweedFS and SecantusDB) makes them, the API hands out signed links. The tiny model draws noise,
so the faithful-SVG path is checked on a flat logo drawn here and stored as a generated image would be."""

import asyncio
import io
import zipfile
from datetime import timedelta

import httpx
import numpy as np
import pytest
from faststream import TestApp
from PIL import Image
from pymongo import AsyncMongoClient

from schemas.base import utcnow
from schemas.topology import ASSET_REQUESTS
from services.api.routes.assets import REASK_AFTER
from services.settings import DEV_API_KEY
from services.storage.s3 import ObjectStore
from tests.e2e.drive.conftest import sign_in
from tests.support import drain_queue
from tests.unit.test_assets_making import GOLD, NAVY, logo
from workers.assets.app import build_assets
from workers.assets.making import MAX_MISMATCH, render
from workers.assets.settings import AssetsSettings

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def assets_worker(common_env):
    async with TestApp(build_assets(AssetsSettings(**common_env))) as app:
        yield app


@pytest.fixture
async def db(common_env):
    client = AsyncMongoClient(common_env["mongo_url"], tz_aware=True)
    yield client[common_env["mongo_db"]]
    await client.close()


async def stored_logo(db, store: ObjectStore, job_id: str, png: bytes, user: str = "alice") -> str:
    """A logo recorded as the generator records its images (the PNG in S3, an image and a job record)."""
    key = f"images/{job_id}/0.png"
    if png:
        await store.put(key, png, "image/png")
    await db.images.insert_one(
        {
            "_id": f"{job_id}-0",
            "job_id": job_id,
            "index": 0,
            "key": key,
            "nsfw": False,
            "prompt": "a logo of a sun",
            "seed": 9,
            "user_id": user,
            "created_at": utcnow(),
        }
    )
    await db.jobs.insert_one(
        {
            "_id": job_id,
            "status": "succeeded",
            "params": {
                "prompt": "a logo of a sun",
                "num_steps": 30,
                "guidance_scale": 7.5,
                "height": 256,
                "width": 256,
            },
            "requester": {"channel": "api", "user_id": user},
            "created_at": utcnow(),
        }
    )
    return f"{job_id}-0"


async def test_a_generated_logo_gets_its_assets_and_each_failure_is_named(
    api, generator, assets_worker, events, common_env
):
    headers = {"X-API-Key": DEV_API_KEY, "X-User-Id": "bob"}
    async with httpx.AsyncClient(base_url=api.url, headers=headers, timeout=60) as client:
        drawn = await client.post(
            "/generate",
            json={"prompt": "a logo of a heron", "num_images": 1, "height": 64, "width": 64, "num_steps": 1},
        )
        assert drawn.status_code == 200, drawn.text
        job_id = drawn.json()["job_id"]
        ready = await events.for_job(job_id, "assets.ready")
        # The tiny model draws noise: no vector, no clean background; the palette and the kit are still made.
        assert set(ready.body["failures"]) == {"svg", "transparent_png"}
        assert (
            "too" in ready.body["failures"]["svg"]
            and "not one flat colour" in ready.body["failures"]["transparent_png"]
        )
        answer = (await client.get(f"/images/{ready.body['image_id']}/assets")).json()
        assert set(answer["files"]) == {"kit"} and len(answer["palette"]) == 6
        kit = await client.get(f"/images/{ready.body['image_id']}/kit.zip", follow_redirects=True)
        assert kit.status_code == 200
        assert "png/logo-1024.png" in zipfile.ZipFile(io.BytesIO(kit.content)).namelist()


async def test_a_flat_logo_gets_a_faithful_svg_a_transparent_png_and_a_kit_on_demand(
    api, assets_worker, events, common_env, db
):
    store = ObjectStore.from_settings(AssetsSettings(**common_env))
    image_id = await stored_logo(db, store, "job-sun", logo([NAVY, GOLD]))
    gone = await stored_logo(db, store, "job-gone", b"")  # deleted from S3 before the worker reached it
    async with httpx.AsyncClient(
        base_url=api.url, headers={"X-API-Key": DEV_API_KEY, "X-User-Id": "alice"}, timeout=60
    ) as client:
        asked = await client.get(f"/images/{image_id}/assets")
        assert asked.status_code == 202 and asked.json()["status"] == "making"
        await events.wait(
            lambda e: e.routing_key == "assets.ready" and e.body["image_id"] == image_id, what="assets.ready"
        )
        answer = (await client.get(f"/images/{image_id}/assets")).json()
        assert answer["failures"] == {} and set(answer["files"]) == {"svg", "transparent_svg", "transparent_png", "kit"}
        assert answer["svg_mismatch"] <= MAX_MISMATCH
        assert [colour["name"] for colour in answer["palette"][:3]] == ["white", "navy", "gold"]
        async with httpx.AsyncClient() as anyone:  # signed links: no key needed
            svg = (await anyone.get(answer["files"]["svg"])).text
            cutout = (await anyone.get(answer["files"]["transparent_png"])).content
            clear = (await anyone.get(answer["files"]["transparent_svg"])).text
        drawn = np.asarray(render(svg, 256, 256).convert("RGB"), dtype=np.int16)
        original = np.asarray(Image.open(io.BytesIO(logo([NAVY, GOLD]))).convert("RGB"), dtype=np.int16)
        assert (np.abs(drawn - original).max(axis=2) > 40).mean() <= MAX_MISMATCH
        assert Image.open(io.BytesIO(cutout)).getpixel((0, 0))[3] == 0
        assert np.asarray(render(clear, 64, 64))[0, 0, 3] == 0 and clear.count("<path") == svg.count("<path") - 1

        await client.get(f"/images/{gone}/assets")
        missing = await events.wait(
            lambda e: e.routing_key == "assets.ready" and e.body["image_id"] == gone, what="assets.ready"
        )
        assert set(missing.body["failures"].values()) == {"the image is gone from storage"}
        assert (await client.get(f"/images/{gone}/kit.zip")).status_code == 404

    # The drive's preview shows the palette and offers the files.
    async with httpx.AsyncClient(base_url=api.url) as operator:
        await sign_in(operator)
        preview = (await operator.get(f"/drive/preview/image/{image_id}", headers={"HX-Request": "true"})).text
    assert 'class="swatch" style="background: #000080"' in preview and "white, navy, gold" in preview
    assert ">Brand kit</a>" in preview and ">SVG</a>" in preview and ">SVG without background</a>" in preview

    async with httpx.AsyncClient(base_url=api.url, headers={"X-API-Key": DEV_API_KEY, "X-User-Id": "mallory"}) as other:
        assert (await other.get(f"/images/{image_id}/assets")).status_code == 404
        assert (await other.get("/images/no-such-image/assets")).status_code == 404


async def test_polling_for_pending_assets_asks_the_worker_once_and_again_only_after_a_while(
    api, common_env, db, rabbit_url
):
    store = ObjectStore.from_settings(AssetsSettings(**common_env))
    image_id = await stored_logo(db, store, "job-old", logo([NAVY, GOLD]))
    async with httpx.AsyncClient(
        base_url=api.url, headers={"X-API-Key": DEV_API_KEY, "X-User-Id": "alice"}, timeout=60
    ) as client:
        # No assets worker runs: every poll finds them pending; five at once, then five more one by one.
        polls = await asyncio.gather(*(client.get(f"/images/{image_id}/assets") for _ in range(5)))
        polls += [await client.get(f"/images/{image_id}/kit.zip") for _ in range(5)]
        assert {poll.status_code for poll in polls} == {202}
        asked = await drain_queue(rabbit_url, ASSET_REQUESTS.name)
        assert [message.body["image_id"] for message in asked] == [image_id]

        # A minute later with still no assets (the worker was down, the command lost), the next poll asks again.
        await db.asset_requests.update_one(
            {"_id": image_id}, {"$set": {"requested_at": utcnow() - REASK_AFTER - timedelta(seconds=1)}}
        )
        assert (await client.get(f"/images/{image_id}/assets")).status_code == 202
        assert (await client.get(f"/images/{image_id}/assets")).status_code == 202
        again = await drain_queue(rabbit_url, ASSET_REQUESTS.name)
        assert [message.body["image_id"] for message in again] == [image_id]
