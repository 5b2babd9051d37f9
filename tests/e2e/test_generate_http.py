"""The whole pipeline over HTTP: API -> RabbitMQ -> generator -> S3 + MongoDB -> API."""

import json

import httpx
import pytest

pytestmark = pytest.mark.asyncio

SMALL = {
    "prompt": "a logo of a lighthouse",
    "seed": 3,
    "num_images": 2,
    "height": 64,
    "width": 64,
    "num_steps": 3,
    "guidance_scale": 8.5,
}


async def test_generate_answers_with_image_urls_that_serve_pngs(generator, client):
    response = await client.post("/generate", json=SMALL)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["seed"] == 3 and body["num_images"] == 2 and body["prompt"] == SMALL["prompt"]
    assert body["nsfw_content_detected"] == [False, False]
    assert body["nsfw_checked"] is False and "no safety checker" in body["note"]
    assert len(body["images"]) == 2
    async with httpx.AsyncClient() as anonymous:  # signed URLs need no key
        image = await anonymous.get(body["images"][1])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


async def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(generator, client):
    first = (await client.post("/generate", json=SMALL)).json()
    second = (await client.post("/generate", json=SMALL)).json()
    other = (await client.post("/generate", json={**SMALL, "seed": 4})).json()
    assert first["job_id"] != second["job_id"]

    async def png(url: str) -> bytes:
        return (await client.get(url)).content

    assert await png(first["images"][0]) == await png(second["images"][0])
    assert await png(first["images"][0]) != await png(other["images"][0])


async def test_seed_is_chosen_and_returned_when_absent(generator, client):
    body = (await client.post("/generate", json={k: v for k, v in SMALL.items() if k != "seed"})).json()
    again = (await client.post("/generate", json={**SMALL, "seed": body["seed"]})).json()
    assert isinstance(body["seed"], int)
    assert (await client.get(body["images"][0])).content == (await client.get(again["images"][0])).content


async def test_jobs_accepts_then_streams_progress_until_done(generator, client):
    response = await client.post("/jobs", json={**SMALL, "num_steps": 4})
    assert response.status_code == 202
    job_id = response.json()["job_id"]

    names: list[str] = []
    async with client.stream("GET", f"/jobs/{job_id}/events") as stream:
        event = None
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
                names.append(event)
            elif line.startswith("data:") and event == "done":
                done = json.loads(line.split(":", 1)[1])
                break
    assert names[-1] == "done"
    assert "progress" in names or names[0] == "done"
    assert done["status"] == "succeeded" and len(done["images"]) == 2

    status = (await client.get(f"/jobs/{job_id}")).json()
    assert status["status"] == "succeeded"
    assert status["progress"] == {"step": 4, "total_steps": 4}


async def test_idempotency_key_gives_one_job(generator, client):
    headers = {"Idempotency-Key": "order-77"}
    first = (await client.post("/generate", json=SMALL, headers=headers)).json()
    second = (await client.post("/generate", json=SMALL, headers=headers)).json()
    assert first["job_id"] == second["job_id"]
    assert first["images"][0].split("?")[0] == second["images"][0].split("?")[0]


async def test_a_keyed_job_has_the_id_the_client_can_compute_beforehand(client):
    from schemas.generation import job_id_for

    headers = {"Idempotency-Key": "submission-1", "X-User-Id": "tg:5"}
    first = await client.post("/jobs", json=SMALL, headers=headers)
    again = await client.post("/jobs", json=SMALL, headers=headers)
    assert first.status_code == again.status_code == 202, first.text
    assert first.json()["job_id"] == again.json()["job_id"] == job_id_for("tg:5", "submission-1")
    other_user = await client.post("/jobs", json=SMALL, headers={**headers, "X-User-Id": "tg:6"})
    assert other_user.json()["job_id"] == job_id_for("tg:6", "submission-1") != first.json()["job_id"]
