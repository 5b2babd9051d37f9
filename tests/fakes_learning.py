"""In-memory stand-ins for the learning loop's stores (ratings, training runs, adapters), for unit tests.

Same rules as tests/fakes.py: the methods the use cases call, with the real signatures and return types;
ratings fold as `services.ratings.scoring` says, as in MongoDB, without the transaction around the fold.
"""

from typing import Any, Literal

from schemas.base import utcnow
from schemas.ratings import RateLogo
from schemas.training import AdapterPromoted
from services.ratings.scoring import Aggregate, RatingKey, RatingVersion, fold
from services.storage.adapters import NO_ADAPTER, AdapterRecord, AdapterStatus, UnknownAdapter
from services.storage.rateable import RateableImage, RatingRefused
from services.storage.ratings import RecordedRating
from services.storage.training_runs import ClaimPolicy, RunStatus, TrainingRun


class FakeRateableImages:
    """RateableImageCache over a dict of images (rateable, or refused with a reason); any other is unknown."""

    def __init__(self, images: dict[str, RateableImage | RatingRefused]) -> None:
        self.images = images

    async def lookup(self, image_ids: list[str]) -> dict[str, RateableImage | RatingRefused]:
        return {
            image_id: self.images.get(image_id)
            or RatingRefused(image_id, RatingRefused.UNKNOWN, f"image_id: no image {image_id}")
            for image_id in set(image_ids)
        }


class FakeRatingStore:
    """RatingStore in memory: the same fold, without the transaction around it."""

    def __init__(self) -> None:
        self.ratings: dict[RatingKey, RatingVersion] = {}
        self.aggregates: dict[str, Aggregate] = {}
        self.claims: dict[str, str | None] = {}  # image id -> the training run that used it
        self.batches: list[list[RateLogo]] = []

    async def record(self, commands: list[RateLogo], images: dict[str, RateableImage]) -> list[RecordedRating]:
        self.batches.append(list(commands))
        before = {command.image_id: self.aggregates.get(command.image_id, Aggregate()) for command in commands}
        result = fold(commands, self.ratings, self.aggregates)
        self.ratings, self.aggregates = result.ratings, result.aggregates
        return [
            RecordedRating(
                command,
                outcome,
                images[command.image_id].job_id,
                result.aggregates[command.image_id],
                before[command.image_id].score,
                self.claims.get(command.image_id),
            )
            for command, outcome in zip(commands, result.outcomes, strict=True)
        ]


class FakeTrainingRunStore:
    """TrainingRunStore over a FakeRatingStore's aggregates: what the retraining trigger and the trainer call."""

    def __init__(self, scores: FakeRatingStore | None = None) -> None:
        self.scores = scores or FakeRatingStore()
        self.runs: dict[str, TrainingRun] = {}
        self.succeeded: dict[str, dict[str, Any]] = {}

    def _eligible(self, quality_bar: float) -> list[str]:
        passing = [
            (-aggregate.score, image_id)
            for image_id, aggregate in self.scores.aggregates.items()
            if aggregate.score >= quality_bar and self.scores.claims.get(image_id) is None
        ]
        return [image_id for _, image_id in sorted(passing)]

    async def release_failed(self) -> list[str]:
        return []

    async def take_unpublished(self, lease_s: float) -> TrainingRun | None:
        return None  # every run this fake records is published by the same trigger at once

    async def eligible_count(self, quality_bar: float, at_least: int) -> int:
        return min(len(self._eligible(quality_bar)), at_least)

    async def unknown_datasets(self, names: list[str]) -> list[str]:
        return list(names)  # no dataset was imported

    async def claim(
        self, policy: ClaimPolicy, reason: Literal["threshold", "manual"], minimum: int
    ) -> TrainingRun | None:
        image_ids = self._eligible(policy.quality_bar)[: policy.max_images]
        if len(image_ids) < minimum or (not image_ids and not policy.datasets):
            return None
        run_id = f"run-{len(self.runs) + 1}"
        self.runs[run_id] = TrainingRun(
            _id=run_id,
            status=RunStatus.PENDING,
            reason=reason,
            image_ids=image_ids,
            datasets=policy.datasets,
            config=policy.config,
            quality_bar=policy.quality_bar,
            created_at=utcnow(),
        )
        self.scores.claims.update(dict.fromkeys(image_ids, run_id))
        return self.runs[run_id]

    async def mark_published(self, run_id: str) -> None:
        self.runs[run_id] = self.runs[run_id].model_copy(update={"published": True, "published_at": utcnow()})

    async def mark_succeeded(self, run_id: str, record: dict[str, Any]) -> None:
        self.succeeded[run_id] = record


class FakeAdapterRegistry:
    """AdapterRegistry in memory: registered versions and the pointer to the one in service, with its history."""

    def __init__(self) -> None:
        self.adapters: dict[str, AdapterRecord] = {}
        self.version: str | None = None
        self.history: list[str | None] = []

    async def register(
        self, version: str, run_id: str, s3_key: str, metrics: dict[str, float], config: dict[str, Any]
    ) -> AdapterRecord:
        self.adapters.setdefault(
            version,
            AdapterRecord(
                version=version,
                run_id=run_id,
                s3_key=s3_key,
                metrics=metrics,
                config=config,
                status=AdapterStatus.CANDIDATE,
                created_at=utcnow(),
            ),
        )
        return self.adapters[version]

    async def get(self, version: str) -> AdapterRecord | None:
        return self.adapters.get(version)

    async def in_service(self) -> dict[str, Any]:
        s3_key = self.adapters[self.version].s3_key if self.version is not None else None
        return {"_id": "current", "version": self.version, "s3_key": s3_key, "history": list(self.history)}

    async def announcement(self) -> AdapterPromoted:
        pointer = await self.in_service()
        return AdapterPromoted(
            correlation_id=self.version or NO_ADAPTER,
            version=self.version,
            s3_key=pointer["s3_key"],
            previous_version=self.history[-1] if self.history else None,
        )

    async def promote(self, version: str | None, reason: str = "manual") -> AdapterPromoted:
        version = None if version in (None, NO_ADAPTER) else version
        if version is not None and version not in self.adapters:
            raise UnknownAdapter(version)
        previous = self.version
        if previous != version:
            self.history.append(previous)
            self.version = version
        s3_key = self.adapters[version].s3_key if version is not None else None
        return AdapterPromoted(
            correlation_id=version or NO_ADAPTER, version=version, s3_key=s3_key, previous_version=previous
        )
