"""Who may do what: every route but health and the docs needs a key; admin routes need an admin key."""

import re

import httpx
import pytest

from services.settings import DEV_API_KEY
from tests.support import record_generated_job

pytestmark = pytest.mark.asyncio

OPEN = {"/health/live", "/health/ready", "/openapi.json", "/docs", "/redoc", "/asyncapi.json"}
ADMIN_PREFIX = "/admin/"


def concrete(path: str) -> str:
    """A path template with every parameter filled in (`/jobs/{job_id}` -> `/jobs/x-0`)."""
    return re.sub(r"\{[^}]+\}", "x-0", path)


async def every_operation(url: str) -> list[tuple[str, str]]:
    async with httpx.AsyncClient(base_url=url) as anonymous:
        spec = (await anonymous.get("/openapi.json")).json()
    operations = [(method.upper(), path) for path, item in spec["paths"].items() for method in item]
    assert len(operations) >= 12, operations  # the schema really lists the API
    return operations


async def test_nothing_works_without_a_valid_key_except_health_and_docs(api):
    operations = await every_operation(api.url)
    async with httpx.AsyncClient(base_url=api.url, timeout=30) as anonymous:
        for path in sorted(OPEN):
            assert (await anonymous.get(path)).status_code in (200, 503), path
        for method, path in operations:
            if path in OPEN:
                continue
            for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": DEV_API_KEY[:-1]}, {"X-API-Key": ""}):
                response = await anonymous.request(method, concrete(path), headers=headers, json={})
                assert response.status_code == 401, (method, path, headers, response.status_code, response.text)


async def test_admin_routes_refuse_ordinary_keys(api, alice):
    admin_operations = [(m, p) for m, p in await every_operation(api.url) if p.startswith(ADMIN_PREFIX)]
    assert ("POST", "/admin/retrain") in admin_operations
    for method, path in admin_operations:
        response = await alice.request(method, concrete(path), json={})
        assert response.status_code == 403, (method, path, response.text)


async def test_static_images_need_a_valid_signature_or_a_key(alice, api, db):
    [image_id] = await record_generated_job(db, "alice")
    key = f"images/{image_id.rsplit('-', 1)[0]}/0.png"
    item = (await alice.get("/users/alice/history")).json()["items"][0]
    signed = item["images"][0]["url"]
    async with httpx.AsyncClient(timeout=30) as anonymous:
        # The object itself was never uploaded here: a valid signature gets as far as the store (404).
        assert (await anonymous.get(signed)).status_code == 404
        tampered = signed.replace("sig=", "sig=0")
        assert (await anonymous.get(tampered)).status_code == 401
        assert (await anonymous.get(f"{api.url}/static/{key}")).status_code == 401
        expired = re.sub(r"expires=\d+", "expires=1", signed)
        assert (await anonymous.get(expired)).status_code == 401


async def test_a_key_reads_only_its_users_images_and_admins_the_training_files(alice, bob, admin, api_settings, db):
    from services.storage.s3 import ObjectStore

    [image_id] = await record_generated_job(db, "alice")
    key = f"images/{image_id.rsplit('-', 1)[0]}/0.png"
    store = ObjectStore.from_settings(api_settings)
    await store.ensure_bucket()
    await store.put(key, b"\x89PNG alice", "image/png")
    await store.put("training/run-1/loss.json", b"[]", "application/json")

    assert (await alice.get(f"/static/{key}")).content == b"\x89PNG alice"
    assert (await bob.get(f"/static/{key}")).status_code == 404  # as if it did not exist
    assert (await admin.get(f"/static/{key}")).status_code == 200
    assert (await alice.get("/static/training/run-1/loss.json")).status_code == 404
    assert (await admin.get("/static/training/run-1/loss.json")).status_code == 200
    signed = (await alice.get("/users/alice/history")).json()["items"][0]["images"][0]["url"]
    async with httpx.AsyncClient(timeout=30) as anyone:  # a signed link is how one image is shared
        assert (await anyone.get(signed)).content == b"\x89PNG alice"

    assert (await bob.get("/images/best", params={"user_id": "alice"})).status_code == 403
    assert (await alice.get("/images/best", params={"user_id": "alice"})).status_code == 200
    assert (await bob.get("/images/best")).status_code == 200
