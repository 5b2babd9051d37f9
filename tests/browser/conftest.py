"""The browser tests: Debian's chromium driven by Playwright (by path, no browser download), against the same
running API and generator as the e2e tests."""

import shutil

import pytest

from tests.e2e.conftest import api, generator  # noqa: F401

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")

# As the machine's notes say: no background networking, the sandbox off as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def page():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = await browser.new_context(viewport={"width": 1280, "height": 1600})
        page = await context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.offline_requests = requests
        yield page
        await browser.close()


@pytest.fixture
def shot(page, tmp_path):
    """Save a full-page screenshot under the test's temporary folder (screenshots/NAME.png); fail when the page
    scrolls sideways, which a person at the drive would have to do."""
    folder = tmp_path / "screenshots"
    folder.mkdir()

    async def take(name: str) -> None:
        await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
            f"{name} scrolls sideways"
        )

    return take
