"""The trainer process over real RabbitMQ, SeaweedFS and SecantusDB: TrainAdapter in, an adapter in service out."""

import json

import pytest
from faststream import TestApp

from schemas.base import utcnow
from schemas.training import TrainAdapter, TrainingConfig
from services.datasets.importer import DatasetImporter
from services.datasets.sources import read_source
from services.ratings.settings import RetrainSettings
from services.ratings.trigger import RetrainTrigger, claim_policy, train_command
from services.storage.adapters import AdapterRegistry
from services.storage.errors import StoreUnavailable
from services.storage.training_runs import TrainingRunStore
from tests.integration.training.builders import dead_letter, logo_rows, publish_message, write_parquet
from workers.trainer.app import build_trainer

SMALL = {"resolution": 64, "inference_steps": 1, "rank": 4, "batch_size": 2, "learning_rate": 1e-2}


@pytest.fixture
def settings(trainer_settings):
    """The stores the trainer uses (its vhost, database and bucket), for the `store` and `db` fixtures."""
    return trainer_settings


@pytest.fixture
async def trainer_app(trainer_settings, model_thread):
    app = build_trainer(trainer_settings, thread=model_thread)
    async with TestApp(app):
        yield app


@pytest.fixture
async def rated_images(store, db) -> list[str]:
    """Two generated images with their prompts, as the generator records them, rated and not yet used."""
    ids = []
    for index, (png, caption) in enumerate(logo_rows(2, seed=5)):
        key = f"images/job-r/{index}.png"
        await store.put(key, png, "image/png")
        await db.images.insert_one({"_id": f"job-r-{index}", "key": key, "prompt": caption})
        await db.image_scores.insert_one(
            {
                "_id": f"job-r-{index}",
                "job_id": "job-r",
                "user_id": "owner-1",
                "prompt": caption,
                "key": key,
                "created_at": utcnow(),
                "hidden": False,
                "training_run": None,
                "count": 1,
                "sum": 5,
                "mean": 5.0,
                "score": 1.83,
            }
        )
        ids.append(f"job-r-{index}")
    return ids


async def claims(db, image_ids: list[str]) -> list[str | None]:
    """The run that holds each image (`image_scores.training_run`), in the order given."""
    scores = await db.image_scores.find({"_id": {"$in": image_ids}}).to_list()
    found = {doc["_id"]: doc["training_run"] for doc in scores}
    return [found[image_id] for image_id in image_ids]


@pytest.fixture
async def shapes_dataset(store, db, tmp_path) -> str:
    path = write_parquet(tmp_path / "shapes.parquet", logo_rows(6))
    await DatasetImporter(store, db).import_entries("shapes", read_source(path), "parquet")
    return "shapes"


def train(run_id: str, image_ids: list[str], datasets: list[str], **config) -> TrainAdapter:
    return TrainAdapter(
        correlation_id=run_id,
        run_id=run_id,
        image_ids=image_ids,
        datasets=datasets,
        config=TrainingConfig(**{**SMALL, **config}),
    )


def matching(routing_key: str, run_id: str):
    return lambda e: e.routing_key == routing_key and e.body.get("correlation_id") == run_id


async def outcome(events, run_id: str, timeout_s: float = 120):
    """The run's AdapterTrained or TrainingFailed, whichever comes (so a failure shows at once)."""
    done = await events.wait(
        lambda e: e.routing_key in ("adapter.trained", "training.failed") and e.body.get("correlation_id") == run_id,
        timeout_s,
        f"outcome of {run_id}",
    )
    return done


async def test_run_trains_reports_stores_promotes_and_is_not_retrained(
    trainer_app, rated_images, shapes_dataset, rabbit_url, events, store, db
):
    command = train("run1", rated_images, [shapes_dataset], max_steps=6, checkpoint_every=3, validate_every=3)
    await publish_message(rabbit_url, command)

    trained = await outcome(events, "run1")
    assert trained.routing_key == "adapter.trained", trained.body
    metrics = trained.body["metrics"]
    assert trained.body["s3_key"] == "adapters/run1/pytorch_lora_weights.safetensors"
    assert metrics["steps"] == 6 and metrics["train_examples"] + metrics["heldout_examples"] == 8
    assert metrics["heldout_loss"] < metrics["heldout_loss_base"]  # so the policy must promote it
    promoted = await events.wait(matching("adapter.promoted", "run1"), 5, "adapter.promoted")
    assert promoted.body["version"] == "run1" and promoted.body["previous_version"] is None
    steps = [e.body["step"] for e in events.received if e.routing_key == "training.progress"]
    assert steps == [1, 2, 3, 4, 5, 6]

    run = await db.training_runs.find_one({"_id": "run1"})
    assert run["status"] == "succeeded" and run["attempts"] == 1 and run["promoted"] is True
    assert [t["status"] for t in run["transitions"]] == ["pending", "running", "succeeded"]
    assert run["validation"] == ["training/run1/validation/step-000003.png", "training/run1/validation/step-000006.png"]
    assert await claims(db, rated_images) == ["run1", "run1"]
    curve = json.loads((await store.get("training/run1/loss.json")).body)
    assert len(curve["loss"]) == 6 and [h["step"] for h in curve["heldout"]] == [3, 6]
    assert (await store.get("training/run1/loss.png")).body.startswith(b"\x89PNG")
    assert json.loads((await store.get("adapters/run1/adapter.json")).body)["metrics"] == metrics
    adapter = await AdapterRegistry(db).get("run1")
    assert adapter is not None
    assert adapter.status == "in_service" and adapter.metrics["heldout_loss"] == metrics["heldout_loss"]

    # Redelivered: announced again from the record, not trained again.
    await publish_message(rabbit_url, command)
    await events.wait(
        lambda e: sum(1 for x in events.received if matching("adapter.trained", "run1")(x)) == 2, 30, "re-announce"
    )
    assert (await db.training_runs.find_one({"_id": "run1"}))["attempts"] == 1

    # A barely trained adapter does not beat the one in service: it stays a candidate.
    await publish_message(rabbit_url, train("run2", [], [shapes_dataset], max_steps=1, learning_rate=1e-7))
    second = await outcome(events, "run2")
    assert second.routing_key == "adapter.trained", second.body
    assert second.body["metrics"]["heldout_loss_in_service"] < second.body["metrics"]["heldout_loss"]
    assert (await AdapterRegistry(db).get("run2")).status == "candidate"
    assert (await AdapterRegistry(db).in_service())["version"] == "run1"
    assert not any(matching("adapter.promoted", "run2")(e) for e in events.received)


async def test_failed_run_is_recorded_and_its_images_stay_available(trainer_app, rated_images, rabbit_url, events, db):
    await publish_message(rabbit_url, train("bad1", rated_images, ["no-such-set"], max_steps=2))

    failed = await outcome(events, "bad1", 30)
    assert failed.routing_key == "training.failed"
    assert "datasets: unknown dataset 'no-such-set'" in failed.body["reason"]
    run = await db.training_runs.find_one({"_id": "bad1"})
    assert run["status"] == "failed" and "unknown dataset" in run["error"]
    assert [t["status"] for t in run["transitions"]] == ["pending", "running", "failed"]
    # Claimed when the run was recorded, given back by the failure itself (no trigger check in between).
    assert run["image_ids"] == rated_images and run["images_released"] is True
    assert await claims(db, rated_images) == [None, None]
    dead = await dead_letter(rabbit_url, "train.dead")
    assert dead["body"]["run_id"] == "bad1"


async def test_a_failure_that_cannot_be_recorded_is_retried_until_it_is(
    trainer_app, rated_images, rabbit_url, events, db
):
    """MongoDB down as the run fails: the command goes back to its queue, not to the dead letters unrecorded."""
    trainer = trainer_app.broker.context.get("trainer")
    real_mark_failed = trainer.runs.mark_failed
    attempts = 0

    async def down_once(*args, **kwargs):
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise StoreUnavailable("MongoDB unreachable while recording the failure")
        return await real_mark_failed(*args, **kwargs)

    trainer.runs.mark_failed = down_once
    await publish_message(rabbit_url, train("bad2", rated_images, ["no-such-set"], max_steps=2))

    failed = await outcome(events, "bad2", 30)
    assert attempts == 2
    run = await db.training_runs.find_one({"_id": "bad2"})
    assert run["status"] == "failed" and run["images_released"] is True
    assert await claims(db, rated_images) == [None, None]
    assert "unknown dataset" in failed.body["reason"]
    dead = await dead_letter(rabbit_url, "train.dead")
    assert dead["body"]["run_id"] == "bad2"
    announced = [e for e in events.received if matching("training.failed", "bad2")(e)]
    assert len(announced) == 1


async def test_a_failed_run_of_the_trigger_gives_its_images_back_at_once(
    trainer_app, rated_images, common_env, rabbit_url, events, store, db
):
    settings = RetrainSettings(
        **common_env,
        retrain_quality_bar=1.5,
        retrain_min_images=2,
        retrain_config=TrainingConfig(**SMALL, max_steps=2),
    )
    runs = TrainingRunStore(db)
    trigger = RetrainTrigger(runs, lambda message: publish_message(rabbit_url, message), claim_policy(settings), 30)
    await store.delete("images/job-r/1.png")  # the run fails when it fetches its images
    run = await trigger.check()
    assert run is not None and await claims(db, rated_images) == [run.run_id] * 2

    failed = await outcome(events, run.run_id, 30)
    assert failed.routing_key == "training.failed" and "images/job-r/1.png" in failed.body["reason"]
    assert (await runs.get(run.run_id)).error == failed.body["reason"]
    # Free as soon as the failure is announced: no trigger check (and its sweep) ran in between.
    assert await claims(db, rated_images) == [None, None]
    assert await runs.eligible_count(1.5, 10) == 2

    # Another run takes them; the failed run, replayed from its dead letters, is refused and takes nothing back.
    again = await runs.claim(trigger.policy, "threshold", minimum=2)
    assert again is not None and await claims(db, rated_images) == [again.run_id] * 2
    await publish_message(rabbit_url, train_command(run))
    refusals = await events.wait_count(matching("training.failed", run.run_id), 2, 30, "refused replay")
    assert "already failed" in refusals[1].body["reason"]
    assert await claims(db, rated_images) == [again.run_id] * 2
    recorded = await runs.get(run.run_id)
    assert recorded is not None
    assert recorded.attempts == 1 and [t.status for t in recorded.transitions] == ["pending", "running", "failed"]


async def test_out_of_range_settings_are_dead_lettered_naming_the_field(trainer_app, rabbit_url):
    body = train("bad2", [], ["x"]).model_dump(mode="json")
    body["config"]["rank"] = 0
    await publish_message(rabbit_url, _Raw(body))
    dead = await dead_letter(rabbit_url, "train.dead")
    assert "config.rank" in dead["headers"]["x-logoforge-error"]


class _Raw:
    """A command body as a careless client might send it, bypassing our own validation."""

    routing_key = "train"

    def __init__(self, body: dict) -> None:
        self._body = body

    def model_dump_json(self) -> str:
        return json.dumps(self._body)
