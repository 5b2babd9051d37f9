"""A person at LogoForge Drive looks through generated logos: by day, best rated first as a list, one previewed
with every parameter, and drawn again. Chromium against the real API, generator, SecantusDB and SeaweedFS; a
screenshot of each page is saved in the test's temporary folder."""

import httpx
from pymongo import AsyncMongoClient

from services.settings import DEV_ADMIN_KEY
from tests.browser.conftest import needs_chromium
from tests.e2e.drive.conftest import DEV_API_KEY, HERON

pytestmark = needs_chromium


async def test_an_operator_browses_generated_logos_and_draws_one_again(api, generator, api_settings, page, shot):
    async with httpx.AsyncClient(base_url=api.url, headers={"X-API-Key": DEV_API_KEY}, timeout=120) as client:
        drawn = await client.post("/generate", json=HERON)
    assert drawn.status_code == 200, drawn.text
    job_id = drawn.json()["job_id"]
    # The second image rated as the ratings service records its aggregate: it comes first when sorted by rating.
    mongo = AsyncMongoClient(api_settings.mongo_url)
    try:
        await mongo[api_settings.mongo_db].image_scores.insert_one(
            {"_id": f"{job_id}-1", "count": 1, "sum": 5, "mean": 5.0, "score": 1.83, "job_id": job_id}
        )
    finally:
        await mongo.close()

    await page.goto(f"{api.url}/drive/sign-in")
    await page.fill("input[name=key]", DEV_ADMIN_KEY)
    await page.click("button[type=submit]")
    await page.get_by_role("link", name="Generated logos").first.click()
    await page.wait_for_selector("a[href^='/drive/generated/user/']")
    await shot("01-generated")

    await page.locator("a[href^='/drive/generated/day/']").first.click()
    await page.wait_for_function("document.querySelectorAll('[data-image]').length === 2")
    await page.wait_for_function("[...document.images].every((img) => img.complete && img.naturalWidth > 0)")
    await shot("02-day")
    await page.get_by_role("link", name="best rated").click()
    await page.wait_for_url("**sort=rating**")
    await page.get_by_role("link", name="List", exact=True).click()
    rows = page.locator("tr[data-image]")
    await page.wait_for_function("document.querySelectorAll('tr[data-image]').length === 2")
    assert await rows.first.get_attribute("data-image") == f"{job_id}-1"
    assert "5.0★ (1)" in await rows.first.inner_text()
    await shot("03-best-rated")

    await page.get_by_role("link", name="Grid", exact=True).click()
    await page.locator(f"[data-image='{job_id}-0']").click()
    lightbox = page.locator("#lightbox")
    await lightbox.locator("text=a logo of a heron").first.wait_for()
    details = await lightbox.inner_text()
    assert "Seed\n11" in details.replace("\t", "\n") and "64×64, 1 step, guidance 7.5" in details
    await shot("04-preview")
    await lightbox.get_by_role("button", name="Draw again with these parameters").click()
    await lightbox.locator("text=with seed 11").wait_for()
    await shot("05-drawn-again")
