"""A worker's own port: metrics, and health that asks the event loop (a blocked loop is not alive)."""

import asyncio
import threading

import httpx
import pytest

from services.observability import IMAGES_GENERATED, MetricsServer


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url)


@pytest.fixture
async def connected() -> dict[str, bool]:
    return {"now": True}


@pytest.fixture
async def server(connected):
    async def ready() -> bool:
        return connected["now"]

    server = MetricsServer(0, "127.0.0.1", ready=ready, loop_timeout_s=0.5)
    server.start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


async def test_metrics_are_served_in_the_prometheus_format(server):
    IMAGES_GENERATED.inc(0)
    response = await get(f"{server}/metrics")
    assert response.status_code == 200 and "logoforge_images_generated_total" in response.text


async def test_ready_follows_the_broker_connection_and_live_does_not(server, connected):
    assert (await get(f"{server}/health/ready")).json() == {"status": "ok", "detail": "ok"}
    connected["now"] = False
    answer = await get(f"{server}/health/ready")
    assert answer.status_code == 503 and answer.json()["detail"] == "not connected to RabbitMQ"
    assert (await get(f"{server}/health/live")).status_code == 200


async def test_a_blocked_event_loop_is_not_alive(server):
    blocked, answered = threading.Event(), threading.Event()

    def probe() -> httpx.Response:
        blocked.wait(10)
        try:
            return httpx.get(f"{server}/health/live", timeout=10)
        finally:
            answered.set()

    answer_soon = asyncio.ensure_future(asyncio.to_thread(probe))
    await asyncio.sleep(0)  # the probe's thread starts
    blocked.set()
    # The condition under test: this event loop answers nothing until the probe has had its answer.
    assert answered.wait(10)
    answer = await answer_soon
    assert answer.status_code == 503 and "did not answer within 0.5 s" in answer.json()["detail"]
    assert (await get(f"{server}/health/live")).status_code == 200  # answering again
