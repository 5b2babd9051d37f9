"""Bad input and unreachable dependencies at the HTTP edge: clear errors, nothing accepted."""

import httpx
import pytest

from logoforge.devstack import free_port
from services.api.app import create_app
from services.settings import DEV_API_KEY
from tests.support import ServedApp

pytestmark = pytest.mark.asyncio

SEED_REQUEST = {
    "prompt": "Craft a logo for a vegetarian restaurant blending modern cuisine and plant medicine. Use a luxurious "
    "color palette and symmetrical patterns for an aesthetic look. Subtly incorporate a sacred mushroom motif to "
    "underscore the unique dining experience",
    "seed": 0,
    "num_images": 2,
    "height": 512,
    "width": 512,
    "num_steps": 40,
    "guidance_scale": 8.5,
}


INVALID_FIELDS = [
    ({"prompt": ""}, "prompt", "at least 1 character"),
    ({"prompt": "   "}, "prompt", "must not be blank"),
    ({"prompt": "x" * 1001}, "prompt", "at most 1000 characters"),
    ({"num_images": 0}, "num_images", "greater than or equal to 1"),
    ({"num_images": 9}, "num_images", "less than or equal to 8"),
    ({"height": 500}, "height", "multiple of 8, got 500"),
    ({"width": 2048}, "width", "less than or equal to 1024"),
    ({"height": 56}, "height", "greater than or equal to 64"),
    ({"num_steps": 151}, "num_steps", "less than or equal to 150"),
    ({"guidance_scale": 30.5}, "guidance_scale", "less than or equal to 30"),
    ({"seed": -1}, "seed", "greater than or equal to 0"),
    ({"sampler": "euler"}, "sampler", "Extra inputs are not permitted"),
]


async def test_each_invalid_field_is_a_422_naming_the_field_and_its_limit(client):
    # One server for all cases: starting one per case would cost seconds each.
    for change, field, message in INVALID_FIELDS:
        for path in ("/generate", "/jobs"):
            response = await client.post(path, json={**SEED_REQUEST, **change})
            assert response.status_code == 422, (change, response.text)
            errors = response.json()["detail"]
            assert any(error["loc"][-1] == field and message in error["msg"] for error in errors), (change, errors)


async def test_requests_without_a_valid_key_are_refused(api):
    async with httpx.AsyncClient(base_url=api.url) as anonymous:
        assert (await anonymous.post("/generate", json=SEED_REQUEST)).status_code == 401
        wrong = await anonymous.post("/jobs", json=SEED_REQUEST, headers={"X-API-Key": "guess"})
        assert wrong.status_code == 401
        assert (await anonymous.get("/static/images/x/0.png")).status_code == 401
        assert (await anonymous.get("/static/images/x/0.png?expires=9999999999&sig=00")).status_code == 401
        assert (await anonymous.get("/health/live")).status_code == 200
        assert (await anonymous.get("/docs")).status_code == 200
        assert (await anonymous.get("/asyncapi.json")).json()["asyncapi"].startswith("2.")


async def test_rabbitmq_unreachable_gives_503_and_accepts_nothing(common_env, mongo_server):
    from pymongo import AsyncMongoClient

    from services.api.settings import ApiSettings

    settings = ApiSettings(**{**common_env, "rabbit_url": f"amqp://guest:guest@127.0.0.1:{free_port()}/"})
    async with (
        ServedApp(create_app(settings)) as served,
        httpx.AsyncClient(base_url=served.url, headers={"X-API-Key": DEV_API_KEY}) as client,
    ):
        for path in ("/jobs", "/generate"):
            response = await client.post(path, json=SEED_REQUEST)
            assert response.status_code == 503, response.text
            assert "nothing was accepted" in response.json()["detail"]
        ready = await client.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["rabbitmq"] != "ok"
    mongo = AsyncMongoClient(mongo_server.url)
    assert await mongo[settings.mongo_db].jobs.count_documents({}) == 0
    await mongo.close()


async def test_ready_when_everything_is_up(client):
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"rabbitmq": "ok", "mongodb": "ok", "s3": "ok"}


async def test_generate_answers_202_with_the_job_past_its_timeout(common_env):
    """No generator is running: the request must not hang, and the job stays queued for one to take."""
    from services.api.settings import ApiSettings

    settings = ApiSettings(**common_env, generate_timeout_s=0.5)
    async with (
        ServedApp(create_app(settings)) as served,
        httpx.AsyncClient(base_url=served.url, headers={"X-API-Key": DEV_API_KEY}) as client,
    ):
        response = await client.post("/generate", json={**SEED_REQUEST, "num_steps": 2})
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        assert response.json()["status_url"].endswith(f"/jobs/{job_id}")
        job = (await client.get(f"/jobs/{job_id}")).json()
        assert job["status"] == "queued" and job["params"]["num_steps"] == 2


async def test_malformed_static_keys_are_client_errors_and_folders_are_not_revealed(api, api_settings):
    from services.settings import DEV_ADMIN_KEY
    from services.storage.s3 import ObjectStore

    client = httpx.AsyncClient(base_url=api.url, headers={"X-API-Key": DEV_ADMIN_KEY}, timeout=30)

    store = ObjectStore.from_settings(api_settings)
    await store.ensure_bucket()
    await store.put("images/f00d/0.png", b"\x89PNG stored", "image/png")
    assert (await client.get("/static/images/f00d/0.png")).status_code == 200
    for key in ("images/f00d/..%5C0.png", "images/f00d/0.png%00", "images/f%C3%B6/0.png"):
        response = await client.get(f"/static/{key}")
        assert response.status_code == 400, (key, response.text)
        assert response.json()["detail"].startswith("key: ")
    for key in ("images/f00d/", "images/f00d", "images//f00d/0.png", "adapters/x.safetensors", "images/%0A/0.png"):
        response = await client.get(f"/static/{key}")
        assert response.status_code == 404, (key, response.text)
    await client.aclose()


async def test_503_bodies_fit_the_request_and_name_no_internals(common_env):
    from services.api.settings import ApiSettings

    dead = f"127.0.0.1:{free_port()}"
    settings = ApiSettings(
        **{**common_env, "rabbit_url": f"amqp://guest:guest@{dead}/", "s3_endpoint": f"http://{dead}"}
    )
    from services.settings import DEV_ADMIN_KEY

    async with (
        ServedApp(create_app(settings)) as served,
        httpx.AsyncClient(base_url=served.url, headers={"X-API-Key": DEV_ADMIN_KEY}) as client,
    ):
        read = await client.get("/static/images/f00d/0.png")  # an admin's read goes straight to S3
        submitted = await client.post("/jobs", json=SEED_REQUEST)
    assert read.status_code == 503 and submitted.status_code == 503
    assert read.json()["detail"] == "service unavailable: storage cannot be reached; try again shortly"
    assert submitted.json()["detail"] == (
        "service unavailable: the message broker cannot be reached, nothing was accepted; try again shortly"
    )
    for response in (read, submitted):
        assert " at 0x" not in response.text and "127.0.0.1" not in response.text


async def test_mongodb_unreachable_gives_503_and_publishes_nothing(common_env, rabbit_url):
    """A 503 means the job will not run: no command reaches the generate queue when the job cannot be recorded."""
    from services.api.settings import ApiSettings
    from tests.support import drain_queue

    settings = ApiSettings(**{**common_env, "mongo_url": f"mongodb://127.0.0.1:{free_port()}"})
    async with (
        ServedApp(create_app(settings)) as served,
        httpx.AsyncClient(base_url=served.url, headers={"X-API-Key": DEV_API_KEY}, timeout=30) as client,
    ):
        for path, key in (("/jobs", None), ("/jobs", "retry-me"), ("/generate", None)):
            headers = {"Idempotency-Key": key} if key else {}
            response = await client.post(path, json=SEED_REQUEST, headers=headers)
            assert response.status_code == 503, response.text
            assert "nothing was accepted" in response.json()["detail"]
    assert await drain_queue(rabbit_url, "generate") == []


async def test_the_openapi_document_says_what_the_api_does(client):
    document = (await client.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key or an admin key.",
    }
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert not [p for op in operations for p in op.get("parameters", []) if p["name"].lower() == "x-api-key"]
    submit = document["paths"]["/jobs"]["post"]
    assert submit["security"] == [{"APIKeyHeader": []}]
    assert {"202", "401", "413", "422", "503"} <= set(submit["responses"])
    params = document["components"]["schemas"]["GenerationParams"]["properties"]
    assert params["height"]["multipleOf"] == 8 and params["width"]["multipleOf"] == 8


async def test_every_422_has_the_same_shape(client):
    refused = await client.post("/jobs", json={**SEED_REQUEST, "guidance_scale": False})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "guidance_scale"]
    cursor = await client.get("/users/api/history", params={"before": "not-a-cursor"})
    assert cursor.status_code == 422, cursor.text
    [error] = cursor.json()["detail"]
    assert error["loc"] == ["query", "before"] and error["msg"].startswith("not a cursor")
