"""What one ratings process last committed, so a batch can skip reading it back (checked on write).

The ratings service is usually the only writer of the images it just rated, so the aggregate and the
ratings it committed are usually still current. A batch that uses this state writes conditionally
(a rating only where its message id is still the one remembered, an aggregate only where count and sum
are still the ones remembered, an insert only where nothing exists); if any condition fails, the
transaction rolls back and runs again with state read from MongoDB. Count and sum are enough as a
version: the new aggregate depends on nothing else.
"""

from collections import OrderedDict
from dataclasses import dataclass

from schemas.ratings import RateLogo
from services.ratings.scoring import Aggregate, Fold, RatingKey, RatingVersion


@dataclass
class BatchState:
    """The stored state a batch starts from: its ratings, its images' aggregates and training claims."""

    ratings: dict[RatingKey, RatingVersion]
    aggregates: dict[str, Aggregate]
    claims: dict[str, str | None]


class KnownState:
    """Bounded memory of committed state; least recently used entries are dropped first."""

    def __init__(self, max_ratings: int = 200_000, max_images: int = 100_000) -> None:
        self._ratings: OrderedDict[RatingKey, RatingVersion] = OrderedDict()
        self._images: OrderedDict[str, tuple[Aggregate, str | None]] = OrderedDict()
        self._max_ratings = max_ratings
        self._max_images = max_images

    def state_for(self, commands: list[RateLogo]) -> BatchState | None:
        """The remembered state of this batch, or None when an image is not remembered (read it then).

        A pair not remembered is taken as not rated yet; the insert fails if that is wrong.
        """
        image_ids = {command.image_id for command in commands}
        if not image_ids <= self._images.keys():
            return None
        keys = {(command.image_id, command.user_id) for command in commands}
        return BatchState(
            ratings={key: self._ratings[key] for key in keys if key in self._ratings},
            aggregates={image: Aggregate(*_counts(self._images[image][0])) for image in image_ids},
            claims={image: self._images[image][1] for image in image_ids},
        )

    def remember(self, result: Fold, claims: dict[str, str | None]) -> None:
        for key, version in result.ratings.items():
            self._ratings[key] = version
            self._ratings.move_to_end(key)
        for image_id, aggregate in result.aggregates.items():
            self._images[image_id] = (Aggregate(*_counts(aggregate)), claims.get(image_id))
            self._images.move_to_end(image_id)
        while len(self._ratings) > self._max_ratings:
            self._ratings.popitem(last=False)
        while len(self._images) > self._max_images:
            self._images.popitem(last=False)

    def forget(self, commands: list[RateLogo]) -> None:
        """Drop what a failed batch touched: it may or may not have committed."""
        for command in commands:
            self._ratings.pop((command.image_id, command.user_id), None)
            self._images.pop(command.image_id, None)


def _counts(aggregate: Aggregate) -> tuple[int, int]:
    return aggregate.count, aggregate.total
