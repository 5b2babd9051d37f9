"""A person at the API's docs page: Swagger UI renders with no CDN, and 'Try it out' draws a logo.

Drives Debian's chromium (by path, no browser download) against the real API, broker, generator and stores.
"""

import json
from pathlib import Path

from services.settings import DEV_API_KEY
from tests.browser.conftest import needs_chromium

pytestmark = needs_chromium


async def test_docs_page_renders_offline_and_try_it_out_generates_a_logo(generator, api, page, tmp_path: Path):
    await page.goto(f"{api.url}/docs")
    operation = page.locator("#operations-generate-generate_generate_post")
    await operation.wait_for(timeout=30_000)
    # Every asset came from the API itself: the page works where no CDN can be reached.
    assert all(url.startswith(api.url) for url in page.offline_requests), page.offline_requests

    # One Authorize button for the whole API (the key is a security scheme, not a header per operation).
    await page.locator(".auth-wrapper .authorize").click()
    dialog = page.locator(".modal-ux")
    await dialog.locator("input").fill(DEV_API_KEY)
    await dialog.locator("button.modal-btn.authorize").click()
    await dialog.locator("button.btn-done").click()
    await operation.locator(".opblock-summary").click()
    await operation.get_by_role("button", name="Try it out").click()
    body = {
        "prompt": "a logo of a heron, minimalism",
        "seed": 5,
        "num_images": 1,
        "height": 64,
        "width": 64,
        "num_steps": 2,
        "guidance_scale": 7.5,
    }
    await operation.locator("textarea.body-param__text").fill(json.dumps(body))
    await operation.get_by_role("button", name="Execute").click()

    live = operation.locator(".live-responses-table tr.response")
    await live.wait_for(timeout=60_000)
    assert (await live.locator(".response-col_status").inner_text()).strip() == "200"
    answer = json.loads(await live.locator(".response-col_description .highlight-code pre").first.inner_text())
    assert answer["seed"] == 5 and answer["nsfw_content_detected"] == [False]
    await page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)

    # The signed image link opens in the browser without a key.
    response = await page.goto(answer["images"][0])
    assert response is not None and response.status == 200
    assert response.headers["content-type"] == "image/png"
