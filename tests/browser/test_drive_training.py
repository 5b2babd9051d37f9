"""The drive's training pages in Chromium: a folder made into a dataset with its report, a run started from the runs
page and finished by the real trainer (tiny model), its loss curve and validation grid shown, the adapter listed;
screenshots in the test's temporary folder."""

from pathlib import Path

from faststream import TestApp

from services.api.app import create_app
from services.api.settings import ApiSettings
from services.settings import DEV_ADMIN_KEY
from tests.browser.conftest import needs_chromium
from tests.e2e.drive.conftest import logo_png
from tests.e2e.drive.test_drive_training import LOGOS, SMALL
from tests.support import ServedApp
from workers.trainer.app import build_trainer
from workers.trainer.service import ModelThread
from workers.trainer.settings import TrainerSettings

pytestmark = needs_chromium


async def test_an_operator_makes_a_dataset_and_watches_its_run(
    common_env, model_dir, page, shot, tmp_path: Path, events
):
    api_settings = ApiSettings(**common_env, retrain_config=SMALL, retrain_quality_bar=4.9)
    trainer = TrainerSettings(**common_env, model=str(model_dir), torch_threads=1, progress_interval_s=0.0)
    thread = ModelThread(torch_threads=1)
    try:
        async with ServedApp(create_app(api_settings)) as api, TestApp(build_trainer(trainer, thread=thread)):
            await page.goto(f"{api.url}/drive/sign-in")
            await page.fill("input[name=key]", DEV_ADMIN_KEY)
            await page.click("button[type=submit]")
            await page.goto(f"{api.url}/drive/uploads")
            await page.fill("input[name=name]", "brand")
            await page.click("text=New folder")
            await page.get_by_role("link", name="brand").click()
            await page.wait_for_selector("h1:has-text('brand')")
            paths = []
            for name, colour, _ in LOGOS:
                (tmp_path / name).write_bytes(logo_png(colour))
                paths.append(str(tmp_path / name))
            await page.set_input_files("input.picker", paths)
            rows = page.locator("table.uploads tbody tr")
            for index, (_, _, prompt) in enumerate(LOGOS):
                await rows.nth(index).locator("input.prompt").fill(prompt)
            await page.click("button.start")
            await page.wait_for_function("document.querySelectorAll('#listing .card.file').length === 5")

            await page.fill("input[name=name][aria-label='Dataset name']", "brand-logos")
            await page.get_by_role("button", name="Make dataset").click()
            report = page.locator("#dataset-report")
            await report.locator("text=made with 4 images").wait_for()
            assert "untitled.png: no prompt" in (await report.inner_text()).replace("\n", " ")
            await shot("01-dataset")
            await page.get_by_role("link", name="Datasets").click()
            dataset = page.locator("tr[data-name='brand-logos']")
            await dataset.wait_for()
            await shot("01-datasets")

            await page.get_by_role("link", name="Training runs").click()
            await page.get_by_label("brand-logos (4)").check()
            await page.get_by_role("button", name="Start").click()
            trained = await events.wait(
                lambda e: e.routing_key == "adapter.trained", what="adapter.trained", timeout_s=240
            )
            await page.reload()
            run = page.locator(f"tr[data-run='{trained.body['run_id']}']")
            await run.locator("text=succeeded").wait_for()
            await shot("02-runs")
            await run.get_by_role("link").first.click()
            curve = page.locator("img.plot")
            await curve.wait_for()
            assert await curve.evaluate("img => img.complete && img.naturalWidth > 0")
            grid = page.locator(".validation img").first
            await grid.wait_for()
            await page.wait_for_function("[...document.images].every((img) => img.complete && img.naturalWidth > 0)")
            await shot("03-run")

            await page.get_by_role("link", name="Adapters").click()
            assert trained.body["version"] in await page.locator("table.list").inner_text()
            await shot("04-adapters")
    finally:
        thread.close()
