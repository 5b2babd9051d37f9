"""A request names its scheduler: the schema lists the choices, the job records it, history shows it."""

import httpx
import pytest

from services.settings import DEV_API_KEY

pytestmark = pytest.mark.asyncio

REQUEST = {"prompt": "a logo of a heron", "num_images": 1, "height": 64, "width": 64, "num_steps": 3}


async def test_a_job_drawn_with_a_scheduler_shows_it_in_history(api, generator):
    headers = {"X-API-Key": DEV_API_KEY, "X-User-Id": "scheduler-user"}
    async with httpx.AsyncClient(base_url=api.url, headers=headers, timeout=120) as client:
        schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["GenerationParams"]
        assert schema["properties"]["scheduler"]["enum"] == ["default", "dpm++_2m_karras", "euler_a", "ddim", "unipc"]

        done = await client.post("/generate", json={**REQUEST, "scheduler": "dpm++_2m_karras", "seed": 5})
        assert done.status_code == 200, done.text
        item = (await client.get("/users/scheduler-user/history")).json()["items"][0]
        assert item["params"]["scheduler"] == "dpm++_2m_karras"
        default = await client.post("/generate", json={**REQUEST, "seed": 5})
        # The same seed and prompt, another scheduler: another image.
        pngs = [(await client.get(answer.json()["images"][0])).content for answer in (done, default)]
        assert pngs[0].startswith(b"\x89PNG") and pngs[0] != pngs[1]

        refused = await client.post("/jobs", json={**REQUEST, "scheduler": "fastest"})
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "scheduler"]
