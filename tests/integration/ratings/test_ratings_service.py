"""The ratings service against real RabbitMQ and SecantusDB: recording, re-rating, redelivery, bad input, faults."""

import asyncio
import json
import logging
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient

from schemas.base import utcnow
from schemas.ratings import RateLogo
from services.ratings.scoring import lower_bound
from tests.support import next_message, publish_body, publish_command, record_generated_job

pytestmark = pytest.mark.asyncio


def rating(image_id: str, user_id: str, score: int, **fields) -> RateLogo:
    return RateLogo(
        correlation_id=image_id.rsplit("-", 1)[0], image_id=image_id, user_id=user_id, score=score, **fields
    )


def rated(image_id: str, count: int | None = None):
    return lambda event: (
        event.routing_key == "rating.recorded"
        and event.body["image_id"] == image_id
        and (count is None or event.body["count"] == count)
    )


async def test_a_rating_is_recorded_and_announced_with_the_aggregate(ratings_app, db, rabbit_url, events):
    [image_id] = await record_generated_job(db, "owner-1")
    await publish_command(rabbit_url, rating(image_id, "u1", 4, comment="nice"))
    await publish_command(rabbit_url, rating(image_id, "u2", 5))

    event = await events.wait(rated(image_id, count=2), what="LogoRated with two ratings")
    assert event.body["mean"] == 4.5
    assert event.body["score_lower_bound"] == pytest.approx(lower_bound(2, 9), abs=1e-3)
    assert event.body["correlation_id"] == image_id.rsplit("-", 1)[0]
    stored = await db.ratings.find({"image_id": image_id}, {"_id": 0, "user_id": 1, "score": 1, "comment": 1}).to_list()
    assert sorted(stored, key=lambda doc: doc["user_id"]) == [
        {"user_id": "u1", "score": 4, "comment": "nice"},
        {"user_id": "u2", "score": 5, "comment": None},
    ]
    scores = await db.image_scores.find_one({"_id": image_id})
    assert (scores["count"], scores["sum"], scores["user_id"], scores["training_run"]) == (2, 9, "owner-1", None)


async def test_re_rating_replaces_and_an_older_rating_never_overwrites_a_newer_one(ratings_app, db, rabbit_url, events):
    [image_id] = await record_generated_job(db, "owner-1")
    now = utcnow()
    await publish_command(rabbit_url, rating(image_id, "u1", 2, occurred_at=now))
    await events.wait(rated(image_id, count=1))
    await publish_command(rabbit_url, rating(image_id, "u1", 5, occurred_at=now + timedelta(seconds=1)))
    # Delivered late: written before the 5, so it must not replace it.
    late = rating(image_id, "u1", 1, occurred_at=now + timedelta(milliseconds=500))
    await publish_command(rabbit_url, late)
    await events.wait(lambda e: rated(image_id)(e) and e.body["score"] == 1, what="LogoRated for the late rating")

    scores = await db.image_scores.find_one({"_id": image_id})
    assert (scores["count"], scores["sum"], scores["mean"]) == (1, 5, 5.0)
    assert await db.ratings.count_documents({"image_id": image_id}) == 1
    assert (await db.ratings.find_one({"image_id": image_id}))["score"] == 5


async def test_a_redelivered_rating_counts_once(ratings_app, db, rabbit_url, events):
    [image_id] = await record_generated_job(db, "owner-1")
    command = rating(image_id, "u1", 4)
    for _ in range(3):  # the same message, as a publisher retrying after a lost confirm sends it
        await publish_command(rabbit_url, command)
    await publish_command(rabbit_url, rating(image_id, "u2", 2))

    announced = await events.wait_count(rated(image_id), 4, what="LogoRated events")
    assert max(event.body["count"] for event in announced) == 2
    scores = await db.image_scores.find_one({"_id": image_id})
    assert (scores["count"], scores["sum"]) == (2, 6)
    assert await db.ratings.count_documents({"image_id": image_id}) == 2


@pytest.mark.parametrize("failed_job", [False, True], ids=["unknown-image", "failed-job"])
async def test_unrateable_images_are_dead_lettered_with_the_reason(ratings_app, db, rabbit_url, failed_job):
    if failed_job:
        [image_id] = await record_generated_job(db, "owner-1", failed=True)
        expected = "belongs to failed job"
    else:
        image_id, expected = "no-such-job-0", "no image no-such-job-0"
    await publish_command(rabbit_url, rating(image_id, "u1", 5))

    dead = await next_message(rabbit_url, "ratings.dead")
    assert dead.body["image_id"] == image_id
    assert expected in dead.headers["x-logoforge-error"]
    assert await db.ratings.count_documents({}) == 0


async def test_an_invalid_score_is_dead_lettered(ratings_app, db, rabbit_url):
    [image_id] = await record_generated_job(db, "owner-1")
    body = rating(image_id, "u1", 5).model_dump(mode="json") | {"score": 9}
    await publish_body(rabbit_url, "rate", json.dumps(body).encode())

    dead = await next_message(rabbit_url, "ratings.dead")
    assert "score" in dead.headers["x-logoforge-error"]


class _Signal(logging.Handler):
    """Sets an asyncio.Event when a log record with the given text is emitted."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


async def test_mongodb_failures_are_retried_through_the_broker_not_lost(ratings_settings, db, rabbit_url, events):
    from faststream import TestApp

    from services.ratings.app import build_ratings

    [image_id] = await record_generated_job(db, "owner-1")
    # The fail point hits only the service's own client (by application name), not the test's.
    client = AsyncMongoClient(
        ratings_settings.mongo_url, tz_aware=True, appname="ratings-under-test", serverSelectionTimeoutMS=5000
    )
    admin = AsyncMongoClient(ratings_settings.mongo_url).admin
    retried = _Signal("retryable failure")
    logging.getLogger("services.messaging").addHandler(retried)
    try:
        async with TestApp(build_ratings(ratings_settings, mongo_client=client)):
            await admin.command(
                "configureFailPoint",
                "failCommand",
                mode="alwaysOn",
                data={"failCommands": ["find", "insert", "update"], "errorCode": 6, "appName": "ratings-under-test"},
            )
            await publish_command(rabbit_url, rating(image_id, "u1", 3))
            await asyncio.wait_for(retried.seen.wait(), 30)
            assert await db.ratings.count_documents({}) == 0
            await admin.command("configureFailPoint", "failCommand", mode="off")
            event = await events.wait(rated(image_id, count=1), what="LogoRated after MongoDB came back")
    finally:
        logging.getLogger("services.messaging").removeHandler(retried)
        await admin.command("configureFailPoint", "failCommand", mode="off")
        await admin.client.close()
    assert event.body["mean"] == 3.0
    assert await db.ratings.count_documents({"image_id": image_id}) == 1


async def test_a_commit_whose_reply_is_lost_is_retried_and_counts_once(ratings_settings, db, rabbit_url, events):
    """The transaction commits but the service cannot know: the message is redelivered and must not count twice."""
    from faststream import TestApp

    from services.ratings.app import build_ratings

    [image_id] = await record_generated_job(db, "owner-1")
    client = AsyncMongoClient(ratings_settings.mongo_url, tz_aware=True, appname="ratings-under-test")
    admin = AsyncMongoClient(ratings_settings.mongo_url).admin
    try:
        async with TestApp(build_ratings(ratings_settings, mongo_client=client)):
            await admin.command(
                "configureFailPoint",
                "failCommand",
                mode={"times": 2},
                data={
                    "failCommands": ["commitTransaction"],
                    "appName": "ratings-under-test",
                    "writeConcernError": {"code": 6, "errmsg": "host unreachable"},
                },
            )
            await publish_command(rabbit_url, rating(image_id, "u1", 4))
            event = await events.wait(rated(image_id), what="LogoRated after the lost commit reply")
    finally:
        await admin.command("configureFailPoint", "failCommand", mode="off")
        await admin.client.close()
    assert event.body["count"] == 1
    scores = await db.image_scores.find_one({"_id": image_id})
    assert (scores["count"], scores["sum"]) == (1, 4)
