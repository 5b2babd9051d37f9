"""The learning loop end to end: logos drawn over HTTP, rated, trained on, promoted, and served.

Real RabbitMQ, SeaweedFS and SecantusDB; the API under uvicorn; the generator, the ratings service and the
trainer as their own apps (the tiny model, 64 px, a few steps). Nothing is called directly: every step is
caused by the one before it, through the broker.
"""

import aio_pika
import httpx
import pytest
from faststream import TestApp
from pymongo import AsyncMongoClient

from schemas.topology import COMMANDS
from schemas.training import TrainingConfig
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.ratings.app import build_ratings
from services.ratings.settings import RatingsSettings
from services.settings import DEV_API_KEY
from services.storage.adapters import AdapterRegistry
from tests.support import EventCollector, ServedApp
from workers.generator.app import build_generator
from workers.generator.pipeline import DiffusionModel
from workers.trainer.app import build_trainer
from workers.trainer.service import ModelThread
from workers.trainer.settings import TrainerSettings

pytestmark = pytest.mark.asyncio

DRAW = {"prompt": "a logo of a blue square", "seed": 11, "num_images": 2, "height": 64, "width": 64, "num_steps": 2}
JOBS = 3  # 6 images: all of them must qualify before a run starts
TRAINING = TrainingConfig(
    resolution=64,
    max_steps=8,
    batch_size=2,
    rank=4,
    learning_rate=1e-2,
    inference_steps=1,
    validate_every=8,
    validation_prompts=[DRAW["prompt"]],
    heldout_fraction=0.3,
)


def about(routing_key: str, correlation_id: str):
    return lambda e: e.routing_key == routing_key and e.body.get("correlation_id") == correlation_id


@pytest.fixture
async def loop_processes(common_env, generator_settings, model_dir):
    """The API, a generator (its own model: adapters get loaded into it), the ratings service and the trainer."""
    # One 5 scores 1.83 (the lower bound of its interval): a bar of 1.5 makes one rating enough.
    ratings = RatingsSettings(
        **common_env, retrain_quality_bar=1.5, retrain_min_images=2 * JOBS, retrain_config=TRAINING
    )
    trainer = TrainerSettings(**common_env, model=str(model_dir), torch_threads=1, progress_interval_s=0.0)
    model = DiffusionModel(generator_settings)
    thread = ModelThread(torch_threads=1)
    try:
        async with (
            ServedApp(create_app(ApiSettings(**common_env, generate_timeout_s=60))) as api,
            TestApp(build_generator(generator_settings, model=model)),
            TestApp(build_ratings(ratings)),
            TestApp(build_trainer(trainer, thread=thread)),
        ):
            yield api
    finally:
        thread.close()


@pytest.fixture
async def db(common_env):
    client = AsyncMongoClient(common_env["mongo_url"], tz_aware=True)
    yield client[common_env["mongo_db"]]
    await client.close()


@pytest.fixture
async def alice(loop_processes):
    headers = {"X-API-Key": DEV_API_KEY, "X-User-Id": "alice"}
    async with httpx.AsyncClient(base_url=loop_processes.url, headers=headers, timeout=60) as client:
        yield client


async def draw(client: httpx.AsyncClient, **changes) -> tuple[dict, bytes]:
    """POST /generate; returns the answer and the first image's PNG."""
    response = await client.post("/generate", json={**DRAW, **changes})
    assert response.status_code == 200, response.text
    body = response.json()
    return body, (await client.get(body["images"][0])).content


async def test_rated_logos_train_an_adapter_that_every_later_job_uses(alice, rabbit_url, events, db):
    async with EventCollector(rabbit_url, "train", COMMANDS.name, aio_pika.ExchangeType.DIRECT) as train_commands:
        first, base_png = await draw(alice)
        assert first["adapter"] is None
        jobs = [first] + [(await draw(alice, seed=DRAW["seed"] + n))[0] for n in range(1, JOBS)]
        image_ids = [f"{job['job_id']}-{n}" for job in jobs for n in range(DRAW["num_images"])]

        for image_id in image_ids:
            rated = await alice.post(f"/images/{image_id}/rating", json={"score": 5})
            assert rated.status_code == 202, rated.text
        await events.wait_count(lambda e: e.routing_key == "rating.recorded", len(image_ids), what="LogoRated")

        command = (await train_commands.wait(lambda _: True, 30, "TrainAdapter")).body
        run_id = command["run_id"]
        assert command["reason"] == "threshold" and sorted(command["image_ids"]) == sorted(image_ids)
        assert command["config"] == TRAINING.model_dump(mode="json")
        trained = await events.wait(
            lambda e: e.routing_key in ("adapter.trained", "training.failed") and e.body["correlation_id"] == run_id,
            60,
            f"outcome of run {run_id}",
        )
        assert trained.routing_key == "adapter.trained", trained.body
        assert len(train_commands.received) == 1

    metrics = trained.body["metrics"]
    assert trained.body["version"] == run_id
    assert trained.body["s3_key"] == f"adapters/{run_id}/pytorch_lora_weights.safetensors"
    assert metrics["steps"] == TRAINING.max_steps and metrics["train_examples"] + metrics["heldout_examples"] == 6
    run = await db.training_runs.find_one({"_id": run_id})
    assert [t["status"] for t in run["transitions"]] == ["pending", "running", "succeeded"]
    assert run["published"] is True and run["attempts"] == 1 and run["version"] == run_id
    assert await db.image_scores.count_documents({"training_run": run_id}) == len(image_ids)

    # The automatic policy: promote when the held-out loss beats the base model's (no adapter was in service).
    assert "heldout_loss_in_service" not in metrics
    assert run["promoted"] == (metrics["heldout_loss"] < metrics["heldout_loss_base"])
    assert run["promoted"], f"this run's adapter did not beat the base model: {metrics}"
    promoted = await events.wait(about("adapter.promoted", run_id), 10, "AdapterPromoted")
    assert promoted.body["version"] == run_id and promoted.body["previous_version"] is None
    assert (await AdapterRegistry(db).in_service())["version"] == run_id

    # The running generator hot-swaps, and every later job records the adapter that drew it.
    await events.wait(about("adapter.loaded", run_id), 30, "AdapterLoaded")
    after, adapter_png = await draw(alice)
    assert after["adapter"] == run_id
    assert (await alice.get(f"/jobs/{after['job_id']}")).json()["adapter"] == run_id
    assert adapter_png != base_png

    # Pinning "none" draws with the base model: the very image of before the training.
    base, none_png = await draw(alice, adapter="none")
    assert base["adapter"] is None and (await db.jobs.find_one({"_id": base["job_id"]}))["adapter"] is None
    assert none_png == base_png
