"""The retraining trigger: enough well-rated images no run has used -> one recorded run -> one TrainAdapter.

Used automatically by the ratings service after each batch, and by hand through `logoforge ops retrain`,
`POST /admin/retrain` and the bot's /retrain (which calls that endpoint): every TrainAdapter the trainer
gets is made here. Recording comes first (services/storage/training_runs.py claims the images
atomically); publishing second; a run recorded but not published is published again later. Datasets
are checked before anything is claimed. A failed run's images come back when the trainer marks it failed;
the next qualifying rating may then start a run with them (not the failure itself: a run that fails
for a lasting reason would otherwise be retried without end).
"""

import logging

from schemas.training import TrainAdapter
from services.messaging import Publish
from services.ratings.settings import RetrainSettings
from services.storage.training_runs import ClaimPolicy, TrainingRun, TrainingRunStore

logger = logging.getLogger(__name__)


class NothingToTrain(Exception):
    """A manual run was asked for, but no unused image passes the bar and no dataset was named."""


class UnknownDatasets(ValueError):
    """A run would name datasets that were never imported; refused before any image is claimed."""

    def __init__(self, names: list[str], field: str = "datasets") -> None:
        super().__init__(f"{field}: unknown dataset(s) {', '.join(map(repr, names))}; import them first")
        self.names = names


def claim_policy(settings: RetrainSettings) -> ClaimPolicy:
    return ClaimPolicy(
        quality_bar=settings.retrain_quality_bar,
        min_images=settings.retrain_min_images,
        max_images=settings.retrain_max_images,
        datasets=list(settings.retrain_datasets),
        config=settings.retrain_config,
    )


def train_command(run: TrainingRun) -> TrainAdapter:
    """The command for a recorded run; its message id is the run id, so a re-publish is recognisable."""
    return TrainAdapter(
        message_id=run.run_id,
        correlation_id=run.run_id,
        run_id=run.run_id,
        image_ids=run.image_ids,
        datasets=run.datasets,
        config=run.config,
        reason=run.reason,
    )


class RetrainTrigger:
    def __init__(self, runs: TrainingRunStore, publish: Publish, policy: ClaimPolicy, lease_s: float) -> None:
        self.runs = runs
        self._publish = publish
        self.policy = policy
        self._lease_s = lease_s

    async def check(self) -> TrainingRun | None:
        """Start a run if enough unused images pass the bar; returns the run started, if any."""
        await self.runs.release_failed()
        await self.publish_stalled()
        if await self.runs.eligible_count(self.policy.quality_bar, self.policy.min_images) < self.policy.min_images:
            return None
        if unknown := await self.runs.unknown_datasets(self.policy.datasets):
            # Every automatic run would fail at the trainer, over and over: start none until this is fixed.
            logger.error(
                "retraining threshold reached, but no run starts: %s",
                UnknownDatasets(unknown, "LOGOFORGE_RETRAIN_DATASETS"),
            )
            return None
        run = await self.runs.claim(self.policy, "threshold", minimum=self.policy.min_images)
        if run is not None:
            logger.info("retraining threshold reached: run %s with %d images", run.run_id, len(run.image_ids))
            await self._publish_run(run)
        return run

    async def manual(self, datasets: list[str] | None = None) -> TrainingRun:
        """Start a run now on every unused image that passes the bar (any number) and the datasets."""
        await self.runs.release_failed()
        await self.publish_stalled()
        policy = self.policy
        if datasets is not None:
            policy = ClaimPolicy(policy.quality_bar, policy.min_images, policy.max_images, datasets, policy.config)
        if unknown := await self.runs.unknown_datasets(policy.datasets):
            raise UnknownDatasets(unknown)
        run = await self.runs.claim(policy, "manual", minimum=0)
        if run is None:
            raise NothingToTrain(
                f"no unused image scores at least {policy.quality_bar} and no dataset was named: nothing to train on"
            )
        logger.info("manual retraining: run %s with %d images", run.run_id, len(run.image_ids))
        await self._publish_run(run)
        return run

    async def publish_stalled(self) -> list[str]:
        """Publish runs that were recorded but whose publisher stopped before saying it published them."""
        published: list[str] = []
        while (run := await self.runs.take_unpublished(self._lease_s)) is not None:
            logger.warning("run %s was recorded but not published; publishing it now", run.run_id)
            await self._publish_run(run)
            published.append(run.run_id)
        return published

    async def _publish_run(self, run: TrainingRun) -> None:
        await self._publish(train_command(run))
        await self.runs.mark_published(run.run_id)
