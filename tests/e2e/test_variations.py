"""Variations that keep the composition: image-to-image from a logo, through the API, the queue, the generator's
batching and the records, like any generation; the job names the image it varies."""

import httpx
import pytest

from services.settings import DEV_API_KEY
from tests.e2e.drive.conftest import sign_in

pytestmark = pytest.mark.asyncio

SMALL = {"prompt": "a logo of an owl", "num_images": 1, "height": 64, "width": 64, "num_steps": 4, "seed": 3}


async def test_variations_of_a_logo_are_drawn_from_it_and_name_it(api, generator, events):
    headers = {"X-API-Key": DEV_API_KEY, "X-User-Id": "alice"}
    async with httpx.AsyncClient(base_url=api.url, headers=headers, timeout=60) as alice:
        drawn = (await alice.post("/generate", json=SMALL)).json()
        parent = f"{drawn['job_id']}-0"
        asked = await alice.post(f"/images/{parent}/variations", json={"strength": 0.5, "num_images": 2})
        assert asked.status_code == 202, asked.text
        job_id = asked.json()["job_id"]
        started = await events.for_job(job_id, "generation.started")
        assert started.body["total_steps"] == 2  # 4 steps at strength 0.5: a variation starts half-way
        done = await events.for_job(job_id, "generation.completed")
        assert len(done.body["images"]) == 2
        assert done.body["params"]["variation_of"] == parent and done.body["params"]["prompt"] == SMALL["prompt"]
        record = (await alice.get(f"/jobs/{job_id}")).json()
        assert record["params"]["variation_of"] == parent and record["params"]["strength"] == 0.5
        # The same variation asked through POST /generate, with its seed, gives the same bytes.
        again = await alice.post("/generate", json={**record["params"], "seed": done.body["seed"]})
        first = (await alice.get(done.body["images"][0]["url"] or record["images"][0]["url"])).content
        assert (await alice.get(again.json()["images"][0])).content == first

        # The family over HTTP: history names the image a job varies and counts each image's variations, and the
        # image lists them (the variation and its redraw), each naming it.
        history = {item["job_id"]: item for item in (await alice.get("/users/alice/history")).json()["items"]}
        assert history[job_id]["variation_of"]["image_id"] == parent
        assert history[drawn["job_id"]]["variation_of"] is None
        assert history[drawn["job_id"]]["images"][0]["variations"] == 2
        family = (await alice.get(f"/images/{parent}/variations")).json()
        assert family["variation_of"] is None and family["url"].startswith(api.url)
        assert [item["job_id"] for item in family["variations"]] == [again.json()["job_id"], job_id]
        assert {item["variation_of"]["image_id"] for item in family["variations"]} == {parent}
        child = (await alice.get(f"/images/{job_id}-0/variations")).json()
        assert child["variation_of"]["image_id"] == parent and child["variations"] == []

        refused = await alice.post("/generate", json={**SMALL, "variation_of": "f" * 32 + "-0"})
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "variation_of"]
        assert (await alice.post("/generate", json={**SMALL, "strength": 0.5})).status_code == 422
    # The drive's preview of a variation names the logo it came from.
    async with httpx.AsyncClient(base_url=api.url) as operator:
        await sign_in(operator)
        preview = (await operator.get(f"/drive/preview/image/{job_id}-0", headers={"HX-Request": "true"})).text
    assert f'hx-get="/drive/preview/image/{parent}"' in preview and "(strength 0.5)" in preview

    async with httpx.AsyncClient(base_url=api.url, headers={"X-API-Key": DEV_API_KEY, "X-User-Id": "bob"}) as bob:
        assert (await bob.post(f"/images/{parent}/variations")).status_code == 404
        assert (await bob.get(f"/images/{parent}/variations")).status_code == 404
        not_his = await bob.post("/jobs", json={**SMALL, "variation_of": parent})
        assert not_his.status_code == 422
