"""The ratings use case: validate each RateLogo, record a batch in one transaction, announce LogoRated,
and let the retraining trigger look at images that just passed the quality bar."""

import logging
from collections.abc import Sequence

from schemas.ratings import LogoRated, RateLogo
from services import observability
from services.errors import InvalidInput, NotReady
from services.messaging import Publish
from services.ratings.batching import BatchWriter
from services.ratings.scoring import Outcome
from services.ratings.trigger import RetrainTrigger
from services.storage.rateable import RateableImage, RateableImageCache, RatingRefused
from services.storage.ratings import RatingStore, RecordedRating

logger = logging.getLogger(__name__)


class RatingsService:
    """The ratings use case, assembled from its adapters (unit tests give it fakes: tests/fakes*.py)."""

    def __init__(
        self,
        images: RateableImageCache,
        store: RatingStore,
        publish: Publish,
        trigger: RetrainTrigger,
        batch_size: int,
    ) -> None:
        self.images = images
        self.store = store
        self.publish = publish
        self.trigger = trigger
        self._writer: BatchWriter[RateLogo, RecordedRating] = BatchWriter(self._flush, batch_size)

    async def rate(self, command: RateLogo) -> LogoRated:
        """Record one rating (with whatever else arrived meanwhile), then announce the image's new aggregate."""
        recorded = await self._writer.submit(command)
        aggregate = recorded.aggregate
        if recorded.outcome in (Outcome.DUPLICATE, Outcome.STALE):
            logger.info(
                "rating %s of %s was %s: nothing changed", command.message_id, command.image_id, recorded.outcome
            )
        event = LogoRated(
            correlation_id=recorded.job_id,
            image_id=command.image_id,
            user_id=command.user_id,
            score=command.score,
            count=aggregate.count,
            mean=round(aggregate.mean, 4),
            score_lower_bound=round(aggregate.score, 4),
        )
        await self.publish(event)
        return event

    async def _flush(self, commands: list[RateLogo]) -> Sequence[RecordedRating | Exception]:
        found = await self.images.lookup([command.image_id for command in commands])
        results: list[RecordedRating | Exception | None] = [None] * len(commands)
        accepted: list[int] = []
        for position, command in enumerate(commands):
            image = found[command.image_id]
            if isinstance(image, RatingRefused):
                results[position] = InvalidInput(image.reason) if image.final else NotReady(image.reason)
            else:
                accepted.append(position)
        images = {image_id: image for image_id, image in found.items() if isinstance(image, RateableImage)}
        recorded = await self.store.record([commands[position] for position in accepted], images)
        for position, outcome in zip(accepted, recorded, strict=True):
            results[position] = outcome
            observability.RATINGS_INGESTED.labels(outcome=outcome.outcome.value).inc()
        if any(self._newly_eligible(outcome) for outcome in recorded):
            await self.check_trigger()
        return [result for result in results if result is not None]

    def _newly_eligible(self, recorded: RecordedRating) -> bool:
        """This image just reached the bar: the number of images that could start a run went up."""
        bar = self.trigger.policy.quality_bar
        return recorded.training_run is None and recorded.previous_score < bar <= recorded.aggregate.score

    async def check_trigger(self) -> None:
        try:
            await self.trigger.check()
        except Exception:
            # The ratings are recorded whatever happens here: the next qualifying rating (or the next
            # start) checks again, and a run recorded but not published is published then.
            logger.warning("retraining check failed; it runs again with the next qualifying rating", exc_info=True)

    async def close(self) -> None:
        await self._writer.close()
