"""The retraining trigger: exactly one TrainAdapter per set of images, under concurrency, failures and crashes."""

import argparse
import asyncio
from datetime import timedelta

import pytest
from faststream import TestApp
from pymongo import AsyncMongoClient

from schemas.base import utcnow
from schemas.ratings import RateLogo
from services.messaging import declare_topology, make_broker, publish
from services.ratings.app import build_ratings
from services.ratings.trigger import NothingToTrain, RetrainTrigger, UnknownDatasets, claim_policy
from services.storage.ratings import create_rating_indexes
from services.storage.training_runs import RunStatus, TrainingRunStore, create_training_run_indexes
from tests.support import drain_queue, publish_commands, record_dataset_manifest, record_generated_job

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def broker(rabbit_url):
    broker = make_broker(rabbit_url)
    await broker.connect()
    await declare_topology(broker)
    yield broker
    await broker.stop()


@pytest.fixture
async def trigger(ratings_settings, db, broker) -> RetrainTrigger:
    for setup in (create_rating_indexes, create_training_run_indexes):
        await setup(db)

    async def send(message) -> None:
        await publish(broker, message)

    return RetrainTrigger(TrainingRunStore(db), send, claim_policy(ratings_settings), lease_s=30)


async def scored_images(db, count: int, score: float = 4.0, training_run: str | None = None) -> list[str]:
    """Images with an aggregate already recorded, as the ratings service leaves them."""
    image_ids = []
    for _ in range(count):
        [image_id] = await record_generated_job(db, "owner-1")
        await db.image_scores.insert_one(
            {
                "_id": image_id,
                "job_id": image_id.rsplit("-", 1)[0],
                "user_id": "owner-1",
                "prompt": "p",
                "created_at": utcnow(),
                "hidden": False,
                "training_run": training_run,
                "count": 3,
                "sum": 12,
                "mean": 4.0,
                "score": score,
            }
        )
        image_ids.append(image_id)
    return image_ids


async def test_concurrent_ratings_across_the_threshold_publish_one_train_adapter(
    ratings_settings, db, rabbit_url, events
):
    """Two ratings services compete for 8 images x 3 users (some messages sent twice); 6 qualifying start a run."""
    image_ids = [image_id for _ in range(8) for image_id in await record_generated_job(db, "owner-1")]
    commands = [
        RateLogo(correlation_id=image_id.rsplit("-", 1)[0], image_id=image_id, user_id=f"user-{n}", score=5)
        for image_id in image_ids
        for n in range(3)
    ]
    sent = commands + commands[::5]  # redeliveries of every fifth
    first = build_ratings(ratings_settings)
    second = build_ratings(ratings_settings.model_copy(update={"ratings_prefetch": 4}))
    async with TestApp(first), TestApp(second):
        await publish_commands(rabbit_url, sent)
        await events.wait_count(lambda e: e.routing_key == "rating.recorded", len(sent), what="LogoRated events")

    train = await drain_queue(rabbit_url, "train")
    assert len(train) == 1, [message.body["run_id"] for message in train]
    command = train[0].body
    assert command["reason"] == "threshold"
    assert 6 <= len(command["image_ids"]) <= 8 and set(command["image_ids"]) <= set(image_ids)
    runs = await db.training_runs.find().to_list()
    assert [(run["_id"], run["status"], run["published"]) for run in runs] == [(command["run_id"], "pending", True)]
    assert sorted(runs[0]["image_ids"]) == sorted(command["image_ids"])
    claimed = await db.image_scores.count_documents({"training_run": command["run_id"]})
    assert claimed == len(command["image_ids"])
    assert await db.ratings.count_documents({}) == 24


async def test_concurrent_checks_from_two_clients_record_one_run(ratings_settings, db, trigger, broker, rabbit_url):
    await scored_images(db, 7)
    other_client = AsyncMongoClient(ratings_settings.mongo_url, tz_aware=True)
    other = RetrainTrigger(
        TrainingRunStore(other_client[ratings_settings.mongo_db]), trigger._publish, trigger.policy, lease_s=30
    )
    try:
        started = await asyncio.gather(*(checker.check() for checker in [trigger, other] * 5))
    finally:
        await other_client.close()

    runs = [run for run in started if run is not None]
    assert len(runs) == 1 and len(runs[0].image_ids) == 7
    assert len(await drain_queue(rabbit_url, "train")) == 1


async def test_below_the_threshold_nothing_starts(db, trigger, rabbit_url):
    await scored_images(db, 5)
    await scored_images(db, 3, score=1.2)  # under the bar
    await scored_images(db, 2, training_run="an-earlier-run")  # already used

    assert await trigger.check() is None
    assert await drain_queue(rabbit_url, "train") == []


async def test_an_unknown_configured_dataset_starts_no_run(ratings_settings, db, trigger, rabbit_url):
    await scored_images(db, 6)
    configured = RetrainTrigger(
        trigger.runs,
        trigger._publish,
        claim_policy(ratings_settings.model_copy(update={"retrain_datasets": ["gone"]})),
        30,
    )

    assert await configured.check() is None  # it would fail at the trainer, run after run
    assert await db.image_scores.count_documents({"training_run": None}) == 6
    assert await drain_queue(rabbit_url, "train") == []
    await record_dataset_manifest(db, "gone")
    run = await configured.check()
    assert run is not None and run.datasets == ["gone"]


async def test_images_of_a_failed_run_are_available_again(db, trigger, rabbit_url):
    await scored_images(db, 6)
    first = await trigger.check()
    assert first is not None
    assert await trigger.check() is None  # all six are used now
    await db.training_runs.update_one({"_id": first.run_id}, {"$set": {"status": RunStatus.FAILED}})

    second = await trigger.check()
    assert second is not None and sorted(second.image_ids) == sorted(first.image_ids)
    train = await drain_queue(rabbit_url, "train")
    assert [message.body["run_id"] for message in train] == [first.run_id, second.run_id]


async def test_a_recorded_but_unpublished_run_is_published_once(db, trigger, rabbit_url):
    [image_id] = await scored_images(db, 1, training_run="crashed-run")
    stalled = utcnow() - timedelta(minutes=5)
    await db.training_runs.insert_one(
        {
            "_id": "crashed-run",
            "status": "pending",
            "reason": "threshold",
            "image_ids": [image_id],
            "datasets": [],
            "config": {},
            "created_at": stalled,
            "published": False,
            "publish_claimed_at": stalled,
        }
    )

    assert await trigger.publish_stalled() == ["crashed-run"]
    assert await trigger.publish_stalled() == []
    train = await drain_queue(rabbit_url, "train")
    assert [(m.body["run_id"], m.body["message_id"], m.body["image_ids"]) for m in train] == [
        ("crashed-run", "crashed-run", [image_id])
    ]
    assert (await db.training_runs.find_one({"_id": "crashed-run"}))["published"] is True


async def test_manual_retrain_takes_any_number_and_refuses_nothing(db, trigger, rabbit_url):
    with pytest.raises(NothingToTrain):
        await trigger.manual()
    image_ids = await scored_images(db, 2)
    with pytest.raises(UnknownDatasets, match="datasets: unknown dataset\\(s\\) 'brand-kit'"):
        await trigger.manual(datasets=["brand-kit"])
    assert await db.image_scores.count_documents({"training_run": None}) == 2  # nothing was claimed
    await record_dataset_manifest(db, "brand-kit")

    run = await trigger.manual(datasets=["brand-kit"])
    [message] = await drain_queue(rabbit_url, "train")
    assert message.body["reason"] == "manual" and message.body["datasets"] == ["brand-kit"]
    assert sorted(message.body["image_ids"]) == sorted(image_ids) == sorted(run.image_ids)


async def test_ops_retrain_command(common_env, db, rabbit_url, capsys, monkeypatch):
    """`logoforge ops retrain` as run from a shell: its settings from LOGOFORGE_* variables, its answer printed."""
    from logoforge.ops import _explained, _retrain

    for name, value in common_env.items():
        monkeypatch.setenv(f"LOGOFORGE_{name.upper()}", str(value))
    monkeypatch.setenv("LOGOFORGE_RETRAIN_QUALITY_BAR", "1.5")

    def run(*datasets: str) -> int:
        try:
            _explained(_retrain)(argparse.Namespace(dataset=list(datasets)))
        except SystemExit as ended:
            return int(ended.code or 0)
        return 0

    assert await asyncio.to_thread(run) == 1
    assert "nothing to train on" in capsys.readouterr().out
    image_ids = await scored_images(db, 3)

    assert await asyncio.to_thread(run, "nope") == 2
    assert "error: datasets: unknown dataset(s) 'nope'" in capsys.readouterr().err
    assert await asyncio.to_thread(run) == 0
    assert '"images": 3' in capsys.readouterr().out
    [command] = await drain_queue(rabbit_url, "train")
    assert sorted(command.body["image_ids"]) == sorted(image_ids) and command.body["reason"] == "manual"
