"""The rating rules on their own: the confidence-aware score and how a batch of ratings folds into state."""

from datetime import UTC, datetime, timedelta

import pytest

from schemas.ratings import RateLogo
from services.ratings.scoring import Aggregate, Outcome, RatingVersion, fold, lower_bound

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def rate(image: str, user: str, score: int, at: datetime = T0, message_id: str | None = None) -> RateLogo:
    extra = {"message_id": message_id} if message_id else {}
    return RateLogo(correlation_id="job", image_id=image, user_id=user, score=score, occurred_at=at, **extra)


def test_one_perfect_rating_ranks_below_fifty_very_good_ones():
    assert lower_bound(1, 5) == pytest.approx(1.83, abs=0.01)
    assert lower_bound(50, 240) == pytest.approx(4.41, abs=0.01)
    assert lower_bound(50, 240) > lower_bound(2, 10) > lower_bound(1, 5)


def test_score_grows_with_evidence_and_stays_on_the_scale():
    assert lower_bound(0, 0) == 0.0
    assert 1.0 <= lower_bound(1, 1) < lower_bound(10, 10) + 1e-9
    assert lower_bound(10, 50) < lower_bound(100, 500) < lower_bound(10_000, 50_000) < 5.0
    assert lower_bound(20, 20) == pytest.approx(1.0, abs=1e-9)  # all ones: the bound cannot go below the scale


def test_new_ratings_and_re_ratings_update_count_and_sum():
    result = fold([rate("a", "u1", 4), rate("a", "u2", 2), rate("a", "u1", 5, T0 + timedelta(seconds=1))], {}, {})
    assert result.outcomes == [Outcome.RECORDED, Outcome.RECORDED, Outcome.REPLACED]
    assert (result.aggregates["a"].count, result.aggregates["a"].total) == (2, 7)
    assert result.ratings[("a", "u1")].score == 5


def test_a_redelivery_or_an_older_rating_changes_nothing():
    kept = RatingVersion(5, "m-new", T0 + timedelta(seconds=2))
    state = {("a", "u1"): kept}
    aggregates = {"a": Aggregate(3, 13)}
    result = fold(
        [rate("a", "u1", 1, T0 + timedelta(seconds=2), "m-new"), rate("a", "u1", 1, T0, "m-old")], state, aggregates
    )
    assert result.outcomes == [Outcome.DUPLICATE, Outcome.STALE]
    assert result.changed_ratings == set() and result.changed_images == set()
    assert (result.aggregates["a"].count, result.aggregates["a"].total) == (3, 13)
    assert aggregates["a"].total == 13  # the input is not modified


def test_the_order_of_arrival_does_not_change_the_result():
    early, late = rate("a", "u1", 2, T0), rate("a", "u1", 4, T0 + timedelta(milliseconds=5))
    forward, backward = fold([early, late], {}, {}), fold([late, early], {}, {})
    assert forward.ratings == backward.ratings
    assert forward.aggregates["a"] == backward.aggregates["a"] == Aggregate(1, 4)


def test_times_are_compared_at_mongodb_precision():
    stored = RatingVersion(3, "m1", T0)  # as read back: milliseconds only
    redelivered = rate("a", "u1", 3, T0 + timedelta(microseconds=400), "m1")
    assert fold([redelivered], {("a", "u1"): stored}, {"a": Aggregate(1, 3)}).outcomes == [Outcome.DUPLICATE]
