"""Pure rating logic: the confidence-aware score, and how a batch of RateLogo commands changes stored ratings.

Kept free of I/O so that the rules (re-rating replaces, a redelivery counts once, an older rating never
overwrites a newer one) are unit-tested on their own; services/storage/ratings.py applies the result.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from schemas.ratings import RateLogo

MIN_SCORE, MAX_SCORE = 1, 5
# 95% two-sided normal quantile: the score is the lower end of a 95% interval.
Z_95 = 1.959964


def lower_bound(count: int, total: int, z: float = Z_95) -> float:
    """The lower bound of the Wilson interval of the mean score, on the 1-5 scale; 0 for no ratings.

    The mean is mapped to [0, 1] and treated as a proportion of `count` trials, so a single 5 ranks
    below fifty ratings averaging 4.8 (about 1.83 against 4.41).
    """
    if count <= 0:
        return 0.0
    p = (total / count - MIN_SCORE) / (MAX_SCORE - MIN_SCORE)
    z2 = z * z
    centre = p + z2 / (2 * count)
    margin = z * math.sqrt(max(p * (1 - p), 0.0) / count + z2 / (4 * count * count))
    bound = (centre - margin) / (1 + z2 / count)
    return MIN_SCORE + (MAX_SCORE - MIN_SCORE) * max(bound, 0.0)


@dataclass
class Aggregate:
    """What is kept per image: the number of ratings and their sum; mean and score derive from them."""

    count: int = 0
    total: int = 0

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    @property
    def score(self) -> float:
        return lower_bound(self.count, self.total)


def truncate_to_ms(moment: datetime) -> datetime:
    """MongoDB keeps milliseconds: compare times as they will read back."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class RatingVersion:
    """One user's current rating of one image, with what orders it against another."""

    score: int
    message_id: str
    occurred_at: datetime
    comment: str | None = None

    @classmethod
    def of(cls, command: RateLogo) -> "RatingVersion":
        return cls(command.score, command.message_id, truncate_to_ms(command.occurred_at), command.comment)

    def supersedes(self, other: "RatingVersion") -> bool:
        # The later rating wins; the message id breaks ties so that every consumer decides the same way.
        return (self.occurred_at, self.message_id) > (other.occurred_at, other.message_id)


class Outcome(StrEnum):
    RECORDED = "recorded"  # the user's first rating of this image
    REPLACED = "replaced"  # a re-rating: the new score replaces the old one
    DUPLICATE = "duplicate"  # this message was applied before (a redelivery)
    STALE = "stale"  # an older rating than the one kept: it changes nothing


RatingKey = tuple[str, str]  # (image id, user id)


@dataclass
class Fold:
    """The state after applying a batch, and what changed."""

    ratings: dict[RatingKey, RatingVersion]
    aggregates: dict[str, Aggregate]
    outcomes: list[Outcome] = field(default_factory=list)
    changed_ratings: set[RatingKey] = field(default_factory=set)
    changed_images: set[str] = field(default_factory=set)


def fold(commands: list[RateLogo], ratings: dict[RatingKey, RatingVersion], aggregates: dict[str, Aggregate]) -> Fold:
    """Apply commands in arrival order to copies of the stored ratings and aggregates.

    Arrival order does not matter for the result: an older rating never replaces a newer one.
    """
    result = Fold(dict(ratings), {image: Aggregate(a.count, a.total) for image, a in aggregates.items()})
    for command in commands:
        key = (command.image_id, command.user_id)
        incoming = RatingVersion.of(command)
        current = result.ratings.get(key)
        aggregate = result.aggregates.setdefault(command.image_id, Aggregate())
        if current is None:
            aggregate.count += 1
            aggregate.total += incoming.score
            outcome = Outcome.RECORDED
        elif current.message_id == incoming.message_id:
            result.outcomes.append(Outcome.DUPLICATE)
            continue
        elif not incoming.supersedes(current):
            result.outcomes.append(Outcome.STALE)
            continue
        else:
            aggregate.total += incoming.score - current.score
            outcome = Outcome.REPLACED
        result.ratings[key] = incoming
        result.outcomes.append(outcome)
        result.changed_ratings.add(key)
        result.changed_images.add(command.image_id)
    return result
