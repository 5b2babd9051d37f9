"""The trainer's promotion decision, on fakes: a finished run's adapter replaces the one in service (or the
base model) only when its held-out loss beats that baseline by the margin, and only then is it announced."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.training import AdapterPromoted, AdapterTrained, TrainAdapter, TrainingConfig
from services.storage.adapters import beats
from services.storage.training_runs import RunStatus, TrainingRun
from tests.fakes import FakeObjectStore, FakePublisher, InlineThread
from tests.fakes_learning import FakeAdapterRegistry, FakeTrainingRunStore
from workers.trainer.run import RunOutcome
from workers.trainer.service import Trainer
from workers.trainer.settings import TrainerSettings


@pytest.mark.parametrize(
    ("candidate", "baseline", "margin", "promoted"),
    [
        (0.90, 1.00, 0.0, True),
        (1.00, 1.00, 0.0, False),  # a tie keeps what serves
        (1.10, 1.00, 0.0, False),
        (0.95, 1.00, 0.1, False),  # better, but by less than the margin
        (0.89, 1.00, 0.1, True),
    ],
)
def test_a_candidate_beats_the_baseline_only_by_the_margin(candidate, baseline, margin, promoted):
    assert beats(candidate, baseline, margin) is promoted


class Training:
    """A Trainer on fakes; only `finish` and `maybe_promote` run here, which never read the database."""

    def __init__(self, data_dir: Path, **settings) -> None:
        self.store = FakeObjectStore()
        self.published = FakePublisher()
        self.runs = FakeTrainingRunStore()
        self.registry = FakeAdapterRegistry()
        self.trainer = Trainer(
            TrainerSettings(data_dir=data_dir, **settings),
            None,  # type: ignore[arg-type]
            self.store,  # type: ignore[arg-type]
            self.published,
            InlineThread(),  # type: ignore[arg-type]
            self.runs,  # type: ignore[arg-type]
            self.registry,  # type: ignore[arg-type]
        )

    async def finish(self, run_id: str, **metrics: float) -> AdapterTrained:
        outcome = RunOutcome(
            metrics=metrics,
            adapter=f"weights of {run_id}".encode(),
            losses=[1.2, 1.0, 0.9],
            heldout=[{"step": 3, "loss": metrics["heldout_loss"]}],
        )
        return await self.trainer.finish(TrainAdapter(correlation_id=run_id, run_id=run_id), outcome)


async def test_an_adapter_that_beats_the_base_model_is_promoted_and_announced(tmp_path):
    training = Training(tmp_path)

    trained = await training.finish("run-1", heldout_loss=0.8, heldout_loss_base=1.0)

    assert training.published.types() == ["AdapterTrained", "AdapterPromoted"]
    assert training.published.messages[0] == trained
    [promoted] = training.published.of_type(AdapterPromoted)
    assert (promoted.version, promoted.previous_version) == ("run-1", None)
    assert promoted.s3_key == trained.s3_key == "adapters/run-1/pytorch_lora_weights.safetensors"
    assert (await training.registry.in_service())["version"] == "run-1"
    assert training.runs.succeeded["run-1"]["promoted"] is True
    assert training.store.objects[trained.s3_key].body == b"weights of run-1"
    assert {"training/run-1/loss.json", "training/run-1/loss.png", "adapters/run-1/adapter.json"} <= set(
        training.store.objects
    )


async def test_an_adapter_that_does_not_beat_the_base_model_stays_a_candidate(tmp_path):
    training = Training(tmp_path)

    await training.finish("run-1", heldout_loss=1.05, heldout_loss_base=1.0)

    assert training.published.types() == ["AdapterTrained"]
    assert (await training.registry.in_service())["version"] is None
    assert training.registry.adapters["run-1"].status == "candidate"
    assert training.runs.succeeded["run-1"]["promoted"] is False


async def test_the_adapter_in_service_is_the_baseline_when_there_is_one(tmp_path):
    training = Training(tmp_path)
    await training.finish("run-1", heldout_loss=0.8, heldout_loss_base=1.0)
    training.published.messages.clear()

    # Better than the base model, worse than run-1 on this run's held-out: run-1 keeps serving.
    await training.finish("run-2", heldout_loss=0.9, heldout_loss_base=1.0, heldout_loss_in_service=0.85)
    assert training.published.types() == ["AdapterTrained"]
    assert (await training.registry.in_service())["version"] == "run-1"

    await training.finish("run-3", heldout_loss=0.7, heldout_loss_base=1.0, heldout_loss_in_service=0.85)
    [promoted] = training.published.of_type(AdapterPromoted)
    assert (promoted.version, promoted.previous_version) == ("run-3", "run-1")


async def test_the_margin_is_relative_to_the_baseline(tmp_path):
    training = Training(tmp_path, min_improvement=0.1)

    await training.finish("run-1", heldout_loss=0.95, heldout_loss_base=1.0)
    await training.finish("run-2", heldout_loss=0.85, heldout_loss_base=1.0)

    assert [event.version for event in training.published.of_type(AdapterPromoted)] == ["run-2"]


async def test_without_automatic_promotion_a_winner_stays_a_candidate(tmp_path):
    training = Training(tmp_path, auto_promote=False)

    await training.finish("run-1", heldout_loss=0.1, heldout_loss_base=1.0)

    assert training.published.types() == ["AdapterTrained"]
    assert (await training.registry.in_service())["version"] is None


async def test_a_run_delivered_again_announces_its_promotion_again_only_while_it_serves(tmp_path):
    training = Training(tmp_path)
    first = await training.finish("run-1", heldout_loss=0.8, heldout_loss_base=1.0)
    second = await training.finish("run-2", heldout_loss=0.7, heldout_loss_base=1.0, heldout_loss_in_service=0.8)
    training.published.messages.clear()

    def succeeded(event: AdapterTrained) -> TrainingRun:
        record = training.runs.succeeded[event.run_id]
        return TrainingRun(
            _id=event.run_id,
            status=RunStatus.SUCCEEDED,
            reason="threshold",
            config=TrainingConfig(),
            created_at=datetime.now(UTC),
            **record,
        )

    def adapter(event: AdapterTrained) -> tuple:
        return event.run_id, event.version, event.s3_key, event.metrics

    assert adapter(await training.trainer.announce_again(succeeded(first))) == adapter(first)
    assert training.published.types() == ["AdapterTrained"]  # run-2 serves now: run-1's promotion is history

    assert adapter(await training.trainer.announce_again(succeeded(second))) == adapter(second)
    [promoted] = training.published.of_type(AdapterPromoted)
    assert (promoted.version, promoted.previous_version) == ("run-2", "run-1")
