"""The operators' endpoints through the real API: /admin/stats and the adapter registry, promote, rollback."""

import httpx
import pytest

from logoforge.devstack import free_port
from schemas.ratings import RateLogo
from schemas.topology import DURABLE_QUEUES
from services.api.app import create_app
from services.settings import DEV_ADMIN_KEY
from services.storage.adapters import AdapterRegistry
from tests.support import ServedApp, publish_command, record_generated_job

pytestmark = pytest.mark.asyncio


async def register(db, *versions: str) -> None:
    """Adapters as the trainer records them after training."""
    registry = AdapterRegistry(db)
    for version in versions:
        await registry.register(
            version, version, f"adapters/{version}/pytorch_lora_weights.safetensors", {"heldout_loss": 0.5}, {}
        )


@pytest.fixture
async def api_without_rabbitmq(api_settings):
    """The API on the test's stores, with RabbitMQ where nothing listens."""
    settings = api_settings.model_copy(update={"rabbit_url": f"amqp://guest:guest@127.0.0.1:{free_port()}/"})
    async with (
        ServedApp(create_app(settings)) as served,
        httpx.AsyncClient(base_url=served.url, headers={"X-API-Key": DEV_ADMIN_KEY}, timeout=60) as client,
    ):
        yield client


async def test_stats_count_queues_jobs_ratings_and_name_the_adapter(
    admin, alice, ratings_service, events, db, rabbit_url
):
    [image_id] = await record_generated_job(db, "alice")
    await record_generated_job(db, "bob", failed=True)
    await publish_command(
        rabbit_url, RateLogo(correlation_id=image_id.split("-")[0], image_id=image_id, user_id="bob", score=5)
    )
    await events.wait(lambda e: e.routing_key == "rating.recorded", what="rating.recorded")
    await register(db, "v1")
    await AdapterRegistry(db).promote("v1")

    response = await admin.get("/admin/stats")
    assert response.status_code == 200, response.text
    stats = response.json()
    queues = {queue["name"]: queue for queue in stats["queues"]}
    assert set(queues) == {durable.name for durable in DURABLE_QUEUES}
    assert queues["ratings"] == {"name": "ratings", "messages": 0, "consumers": 1, "dead_letters": 0}
    assert stats["jobs"] == {"queued": 0, "running": 0, "succeeded": 1, "failed": 1, "cancelled": 0}
    assert (stats["ratings"], stats["rated_images"], stats["adapter"]) == (1, 1, "v1")
    assert (await alice.get("/admin/stats")).status_code == 403


async def test_stats_without_rabbitmq_still_count_what_mongodb_holds(api_without_rabbitmq, db):
    await record_generated_job(db, "alice")
    response = await api_without_rabbitmq.get("/admin/stats")
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["queues"] is None
    assert stats["jobs"]["succeeded"] == 1 and stats["adapter"] is None


async def test_promote_and_rollback_change_the_adapter_in_service_and_announce_it(admin, events, db):
    await register(db, "v1", "v2")
    listed = (await admin.get("/admin/adapters")).json()
    assert listed["in_service"] is None and listed["history"] == []
    assert [(a["version"], a["status"]) for a in listed["adapters"]] == [("v1", "candidate"), ("v2", "candidate")]

    for version, previous in (("v1", None), ("v2", "v1")):
        response = await admin.post("/admin/adapters/promote", json={"version": version})
        assert response.json() == {"in_service": version, "previous": previous}, response.text
        announced = await events.wait(
            lambda e, v=version: e.routing_key == "adapter.promoted" and e.body["version"] == v, what=version
        )
        assert announced.body["s3_key"] == f"adapters/{version}/pytorch_lora_weights.safetensors"

    listed = (await admin.get("/admin/adapters")).json()
    assert (listed["in_service"], listed["history"]) == ("v2", [None, "v1"])
    assert [(a["version"], a["status"]) for a in listed["adapters"]] == [("v1", "retired"), ("v2", "in_service")]
    assert listed["adapters"][1]["promoted_at"] is not None

    back = await admin.post("/admin/adapters/rollback")
    assert back.json() == {"in_service": "v1", "previous": "v2"}
    base = await admin.post("/admin/adapters/promote", json={"version": "base"})
    assert base.json() == {"in_service": None, "previous": "v1"}
    await events.wait(lambda e: e.routing_key == "adapter.promoted" and e.body["version"] is None, what="base")
    assert (await AdapterRegistry(db).in_service())["version"] is None


async def test_unknown_versions_and_an_empty_history_are_refused_by_name(admin, alice, db):
    missing = await admin.post("/admin/adapters/promote", json={"version": "v-missing"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "version: unknown adapter version 'v-missing'"
    empty = await admin.post("/admin/adapters/rollback")
    assert empty.status_code == 409 and "nothing to roll back to" in empty.json()["detail"]
    assert (await admin.post("/admin/adapters/promote", json={"version": ""})).status_code == 422
    await register(db, "v1")
    assert (await alice.post("/admin/adapters/promote", json={"version": "v1"})).status_code == 403
    assert (await AdapterRegistry(db).in_service())["version"] is None


async def test_promote_without_rabbitmq_is_a_503_that_says_what_happened(api_without_rabbitmq, db):
    await register(db, "v1")
    response = await api_without_rabbitmq.post("/admin/adapters/promote", json={"version": "v1"})
    assert response.status_code == 503, response.text
    assert "v1 is in service, but RabbitMQ did not take the announcement" in response.json()["detail"]
    assert "repeat the request" in response.json()["detail"]


async def test_the_admin_answers_are_documented(admin):
    spec = (await admin.get("/openapi.json")).json()
    answers = {
        path: spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        for path, method in (
            ("/admin/stats", "get"),
            ("/admin/adapters", "get"),
            ("/admin/adapters/promote", "post"),
            ("/admin/adapters/rollback", "post"),
        )
    }
    assert answers == {
        "/admin/stats": "#/components/schemas/AdminStats",
        "/admin/adapters": "#/components/schemas/AdapterRegistryView",
        "/admin/adapters/promote": "#/components/schemas/AdapterChanged",
        "/admin/adapters/rollback": "#/components/schemas/AdapterChanged",
    }
    assert set(spec["components"]["schemas"]["AdminStats"]["properties"]) == {
        "queues",
        "jobs",
        "ratings",
        "rated_images",
        "adapter",
    }
