"""From a folder of uploaded logos to an adapter in service, through the drive: a dataset with its per-file report,
a training run the real trainer finishes (tiny model, 64 px, a few steps) with its loss curve and validation grid,
then promote and roll back."""

import httpx
import pytest
from faststream import TestApp

from schemas.training import TrainingConfig
from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.e2e.drive.conftest import logo_png, sign_in
from tests.support import ServedApp
from workers.trainer.app import build_trainer
from workers.trainer.service import ModelThread
from workers.trainer.settings import TrainerSettings

pytestmark = pytest.mark.asyncio

SMALL = TrainingConfig(
    resolution=64,
    max_steps=4,
    batch_size=2,
    rank=4,
    learning_rate=1e-2,
    inference_steps=1,
    validate_every=4,
    validation_prompts=["a logo of a fox"],
    heldout_fraction=0.3,
)
LOGOS = [
    ("fox.png", "orange", "a logo of a fox, orange foreground"),
    ("owl.png", "navy", "a logo of an owl, navy"),
    ("leaf.png", "green", "a logo of a leaf, green, flat"),
    ("sun.png", "gold", "a logo of a sun, gold"),
    ("untitled.png", "red", ""),
]


@pytest.fixture
async def drive_with_trainer(common_env, model_dir):
    # The bar no rated image reaches: runs train on the datasets named.
    api_settings = ApiSettings(**common_env, retrain_config=SMALL, retrain_quality_bar=4.9)
    trainer = TrainerSettings(**common_env, model=str(model_dir), torch_threads=1, progress_interval_s=0.0)
    thread = ModelThread(torch_threads=1)
    try:
        async with (
            ServedApp(create_app(api_settings)) as api,
            TestApp(build_trainer(trainer, thread=thread)),
            httpx.AsyncClient(base_url=api.url, timeout=60) as client,
        ):
            yield client, await sign_in(client)
    finally:
        thread.close()


async def test_a_folder_becomes_a_dataset_a_run_and_an_adapter_in_service(drive_with_trainer, events):
    client, token = drive_with_trainer
    headers = {"X-CSRF-Token": token}
    folder = (await client.post("/drive/uploads/root/folders", data={"name": "brand"}, headers=headers)).json()["id"]
    for name, colour, prompt in LOGOS:
        response = await client.post(
            f"/drive/uploads/{folder}/files",
            files={"file": (name, logo_png(colour), "image/png")},
            data={"prompt": prompt},
            headers=headers,
        )
        assert response.status_code == 200, response.text

    report = await client.post(f"/drive/uploads/{folder}/dataset", data={"name": "brand-logos"}, headers=headers)
    assert report.status_code == 200, report.text
    assert "made with 4 images" in report.text and "untitled.png" in report.text and "no prompt" in report.text
    again = await client.post(f"/drive/uploads/{folder}/dataset", data={"name": "brand-logos"}, headers=headers)
    assert again.status_code == 422 and "exists already" in again.text
    assert "brand-logos" in (await client.get("/drive/datasets", headers={"Accept": "text/html"})).text

    nothing = await client.post("/drive/runs", data={}, headers=headers)
    assert nothing.status_code == 422  # no rated image passes the bar and no dataset was ticked
    started = await client.post("/drive/runs", data={"datasets": "brand-logos"}, headers=headers)
    assert started.status_code == 200, started.text
    run_id = started.json()["run_id"]
    trained = await events.wait(
        lambda e: e.routing_key == "adapter.trained" and e.body["run_id"] == run_id,
        what="adapter.trained",
        timeout_s=240,
    )
    version = trained.body["version"]
    # The trainer checks the adapter and puts it in service itself.
    await events.wait(
        lambda e: e.routing_key == "adapter.promoted" and e.body["version"] == version, what="adapter.promoted"
    )

    runs = await client.get("/drive/runs", headers={"Accept": "text/html"})
    assert run_id in runs.text and "succeeded" in runs.text
    page = await client.get(f"/drive/runs/{run_id}", headers={"Accept": "text/html"})
    assert f"/drive/object/training/{run_id}/loss.png" in page.text and "validation/step-" in page.text
    curve = await client.get(f"/drive/object/training/{run_id}/loss.png")
    assert curve.status_code == 200 and curve.content.startswith(b"\x89PNG")
    assert (await client.get("/drive/object/adapters/whatever")).status_code == 404  # only training and datasets

    adapters = await client.get("/drive/adapters", headers={"Accept": "text/html"})
    assert run_id in adapters.text and f"In service: <strong>{version}</strong>" in adapters.text
    rolled = await client.post("/drive/adapters/rollback", headers=headers)
    assert rolled.json() == {"in_service": None, "previous": version}
    promoted = await client.post("/drive/adapters/promote", data={"version": version}, headers=headers)
    assert promoted.json() == {"in_service": version, "previous": None}
    unknown = await client.post("/drive/adapters/promote", data={"version": "v-none"}, headers=headers)
    assert unknown.status_code == 422 and "unknown adapter version" in unknown.json()["detail"]
