"""The ratings use case on fakes: a batch of RateLogo recorded together, LogoRated per rating, and the
retraining trigger asked only when an image newly passes the quality bar.

The rating store is a fake that applies the same pure fold as the MongoDB one (services/ratings/scoring.py)
without the transaction; the trigger is the real RetrainTrigger over an in-memory run store.
"""

import asyncio
from datetime import UTC, datetime

import pytest

from schemas.ratings import LogoRated, RateLogo
from schemas.training import TrainAdapter
from services.errors import InvalidInput, NotReady
from services.ratings.scoring import Aggregate
from services.ratings.service import RatingsService
from services.ratings.trigger import RetrainTrigger
from services.storage.rateable import RateableImage, RatingRefused
from services.storage.training_runs import ClaimPolicy
from tests.fakes import FakePublisher
from tests.fakes_learning import FakeRateableImages, FakeRatingStore, FakeTrainingRunStore

pytestmark = pytest.mark.asyncio

QUALITY_BAR = 2.3  # two ratings of 5 reach it (lower bound 2.37), one does not (1.83)


def image(image_id: str) -> RateableImage:
    return RateableImage(
        image_id, f"job-of-{image_id}", "owner", "a fox", f"images/{image_id}.png", datetime(2026, 1, 1, tzinfo=UTC)
    )


def rating(image_id: str, user_id: str, score: int, **fields) -> RateLogo:
    return RateLogo(correlation_id=f"job-of-{image_id}", image_id=image_id, user_id=user_id, score=score, **fields)


class Ratings:
    """A RatingsService on fakes, with the fakes at hand."""

    def __init__(self, min_images: int = 2) -> None:
        self.store = FakeRatingStore()
        self.runs = FakeTrainingRunStore(self.store)
        self.published = FakePublisher()
        refused = RatingRefused("unfinished", RatingRefused.UNFINISHED, "image_id: job job-9 is running")
        self.images = FakeRateableImages({"a": image("a"), "b": image("b"), "c": image("c"), "unfinished": refused})
        policy = ClaimPolicy(quality_bar=QUALITY_BAR, min_images=min_images, max_images=10)
        self.trigger = RetrainTrigger(self.runs, self.published, policy, lease_s=60)  # type: ignore[arg-type]
        self.service = RatingsService(
            self.images,
            self.store,
            self.published,
            self.trigger,
            batch_size=16,  # type: ignore[arg-type]
        )

    async def rate_together(self, *commands: RateLogo) -> list[LogoRated | BaseException]:
        return await asyncio.gather(*(self.service.rate(command) for command in commands), return_exceptions=True)


@pytest.fixture
async def ratings():
    ratings = Ratings()
    yield ratings
    await ratings.service.close()


async def test_ratings_submitted_together_are_recorded_in_one_batch_and_each_announced(ratings):
    results = await ratings.rate_together(rating("a", "u1", 5), rating("a", "u2", 3), rating("b", "u1", 2))

    assert [len(batch) for batch in ratings.store.batches] == [3]
    assert ratings.store.aggregates == {"a": Aggregate(2, 8), "b": Aggregate(1, 2)}
    assert results == ratings.published.of_type(LogoRated)
    first, second, third = results
    assert isinstance(first, LogoRated) and isinstance(second, LogoRated) and isinstance(third, LogoRated)
    # Each event carries its image's aggregate after the whole batch.
    assert (first.correlation_id, first.score, first.count, first.mean) == ("job-of-a", 5, 2, 4.0)
    assert (second.score, second.count, second.mean) == (3, 2, 4.0)
    assert first.score_lower_bound == second.score_lower_bound == round(Aggregate(2, 8).score, 4)
    assert (third.image_id, third.count, third.mean) == ("b", 1, 2.0)


async def test_a_redelivered_rating_counts_once_and_only_a_later_one_replaces_it(ratings):
    first = rating("a", "u1", 2, occurred_at=datetime(2026, 1, 2, 10, 0, tzinfo=UTC))
    await ratings.service.rate(first)
    again = await ratings.service.rate(first)
    later = await ratings.service.rate(rating("a", "u1", 4, occurred_at=datetime(2026, 1, 2, 10, 1, tzinfo=UTC)))
    older = await ratings.service.rate(rating("a", "u1", 1, occurred_at=datetime(2026, 1, 2, 9, 0, tzinfo=UTC)))

    assert (again.count, again.mean) == (1, 2.0)
    assert (later.count, later.mean) == (1, 4.0)
    assert (older.count, older.mean) == (1, 4.0)  # an older rating arriving late changes nothing
    assert ratings.store.aggregates["a"] == Aggregate(1, 4)


async def test_an_image_that_cannot_be_rated_fails_alone_with_its_reason(ratings):
    unknown, good, unfinished = await ratings.rate_together(
        rating("nope", "u1", 5), rating("a", "u1", 4), rating("unfinished", "u1", 4)
    )

    assert isinstance(unknown, InvalidInput) and "no image nope" in str(unknown)
    assert isinstance(unfinished, NotReady)  # retried: its job may succeed in a moment
    assert isinstance(good, LogoRated) and good.count == 1
    assert [event.image_id for event in ratings.published.of_type(LogoRated)] == ["a"]
    assert set(ratings.store.aggregates) == {"a"}


async def test_crossing_the_threshold_starts_one_run_on_the_images_that_pass_the_bar(ratings):
    await ratings.rate_together(rating("a", "u1", 5), rating("a", "u2", 5), rating("c", "u1", 1))
    assert ratings.published.of_type(TrainAdapter) == []  # one image passes the bar; the run needs two

    await ratings.rate_together(rating("b", "u1", 5), rating("b", "u2", 5))

    [command] = ratings.published.of_type(TrainAdapter)
    assert (command.reason, sorted(command.image_ids)) == ("threshold", ["a", "b"])
    run = ratings.runs.runs[command.run_id]
    assert run.published and run.image_ids == command.image_ids
    assert ratings.store.claims == {"a": command.run_id, "b": command.run_id}
    # The run is recorded and published before the batch's ratings are announced.
    assert ratings.published.types()[-3:] == ["TrainAdapter", "LogoRated", "LogoRated"]


async def test_ratings_that_bring_no_image_to_the_bar_do_not_ask_the_trigger(ratings):
    # Images already past the bar (rated before this process started): only the start-up check sees them.
    ratings.store.aggregates.update({"a": Aggregate(2, 10), "b": Aggregate(2, 10)})

    await ratings.rate_together(rating("c", "u1", 5), rating("a", "u3", 5))

    assert ratings.published.of_type(TrainAdapter) == []
    await ratings.service.check_trigger()
    assert len(ratings.published.of_type(TrainAdapter)) == 1
