"""One TrainAdapter command, handled idempotently: gather data, train on the model thread, store, promote.

A succeeded run is never trained again (its AdapterTrained is announced again instead). A run that was
interrupted resumes from its last checkpoint in S3. The adapter version is the run id, so every key a
run writes is deterministic.
"""

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pymongo.asynchronous.database import AsyncDatabase

from schemas.training import AdapterPromoted, AdapterTrained, TrainAdapter, TrainingFailed, TrainingProgress
from services import observability
from services.errors import InvalidInput, MissingData, RetryableError
from services.messaging import Publish
from services.storage.adapters import AdapterRegistry, beats
from services.storage.errors import ObjectNotFound
from services.storage.s3 import ObjectStore
from services.storage.training_runs import RunStatus, TrainingRun, TrainingRunStore
from workers.device import device_memory_errors
from workers.tiny_model import resolve_model_source
from workers.trainer import artifacts
from workers.trainer.data import collect_samples, fetch_examples, split_heldout, with_instance_prompt
from workers.trainer.run import RunIO, RunOutcome, RunPlan, describe_outcome, execute
from workers.trainer.settings import TrainerSettings

logger = logging.getLogger(__name__)


class ModelThread:
    """The one thread that touches torch in this process (see STYLE.md on OpenMP threads)."""

    def __init__(self, torch_threads: int | None = None) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trainer")
        self._torch_threads = torch_threads

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, fn, args)

    def _call(self, fn, args: tuple):
        # torch's thread count is the whole process's: set it for every call, since another part of the process
        # (a generator beside the trainer) may have changed it, and a run's arithmetic depends on it.
        if self._torch_threads:
            _set_threads(self._torch_threads)
        return fn(*args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def _execute_on_device(plan: RunPlan, io: RunIO) -> RunOutcome:
    """The run, on the model thread; the device running out of memory is retryable (the run resumes)."""
    with device_memory_errors(f"run {plan.run_id}"):
        return execute(plan, io)


def _set_threads(count: int) -> None:
    import torch

    torch.set_num_threads(count)


class StoreBridge:
    """RunIO for the training thread: S3 calls and progress, scheduled on the event loop and waited for."""

    def __init__(self, store: ObjectStore, reporter: "ProgressPublisher") -> None:
        self._store = store
        self._reporter = reporter
        self._loop = asyncio.get_running_loop()
        self._last_step: tuple[int, float] | None = None  # (step, when) of the latest progress

    def put(self, key: str, body: bytes, content_type: str) -> None:
        asyncio.run_coroutine_threadsafe(self._store.put(key, body, content_type), self._loop).result()

    def get(self, key: str) -> bytes | None:
        try:
            return asyncio.run_coroutine_threadsafe(self._store.get(key), self._loop).result().body
        except ObjectNotFound:
            return None

    def progress(self, step: int, max_steps: int, loss: float, seconds_left: float | None) -> None:
        now = time.monotonic()
        if self._last_step is not None and step > self._last_step[0]:
            observability.TRAINING_STEP_SECONDS.observe((now - self._last_step[1]) / (step - self._last_step[0]))
        self._last_step = (step, now)
        observability.TRAINING_LOSS.set(loss)
        self._loop.call_soon_threadsafe(self._reporter.note, step, max_steps, loss, seconds_left)


class ProgressPublisher:
    """Publishes TrainingProgress at most once per interval (always the latest step) and records it."""

    def __init__(self, publish: Publish, runs: TrainingRunStore, run_id: str, interval_s: float) -> None:
        self._publish, self._runs, self._run_id, self._interval_s = publish, runs, run_id, interval_s
        self._last_sent = float("-inf")
        self._tasks: set[asyncio.Task] = set()

    def note(self, step: int, max_steps: int, loss: float, seconds_left: float | None) -> None:
        now = time.monotonic()
        if now - self._last_sent < self._interval_s and step < max_steps:
            return
        self._last_sent = now
        event = TrainingProgress(
            correlation_id=self._run_id,
            run_id=self._run_id,
            step=step,
            max_steps=max_steps,
            loss=loss,
            seconds_left=seconds_left,
        )
        task = asyncio.create_task(self._send(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, event: TrainingProgress) -> None:
        try:
            await self._publish(event)
            await self._runs.record_progress(self._run_id, event.step, event.max_steps, event.loss)
        except Exception:  # progress is advisory: a lost update must not fail the run
            logger.warning("progress update for run %s failed", self._run_id, exc_info=True)

    async def drain(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)


class Trainer:
    """The trainer's use case, assembled from its adapters (unit tests give it fakes: tests/fakes*.py).

    `db` is read only to gather a run's rated images (`plan`); the runs and the adapter registry are given.
    """

    def __init__(
        self,
        settings: TrainerSettings,
        db: AsyncDatabase,
        store: ObjectStore,
        publish: Publish,
        thread: ModelThread,
        runs: TrainingRunStore,
        registry: AdapterRegistry,
    ) -> None:
        self.settings, self.db, self.store, self.publish, self.thread = settings, db, store, publish, thread
        self.runs = runs
        self.registry = registry

    async def handle(self, command: TrainAdapter) -> AdapterTrained:
        run = await self.runs.record_pending(command)
        if run.status == RunStatus.SUCCEEDED:
            return await self.announce_again(run)
        if not await self.runs.mark_running(command.run_id):
            # Its images went back to the pool when it failed, and another run may hold them now.
            raise InvalidInput(
                f"run_id: run {command.run_id} already failed ({run.error}); "
                "start a new one with `logoforge ops retrain`"
            )
        plan = await self.plan(command)
        reporter = ProgressPublisher(self.publish, self.runs, command.run_id, self.settings.progress_interval_s)
        try:
            observability.RETRAINING_RUNS.labels(event="started").inc()
            outcome = await self.thread.run(_execute_on_device, plan, StoreBridge(self.store, reporter))
        finally:
            await reporter.drain()
        return await self.finish(command, outcome)

    async def announce_again(self, run: TrainingRun) -> AdapterTrained:
        """A redelivered, finished run: announce its adapter again, and its promotion if still current."""
        logger.info("run %s already succeeded; announcing it again", run.run_id)
        if run.version is None or run.s3_key is None or run.metrics is None:  # finish() records all three
            raise MissingData(f"run {run.run_id} succeeded, but its record names no adapter")
        event = AdapterTrained(
            correlation_id=run.run_id, run_id=run.run_id, version=run.version, s3_key=run.s3_key, metrics=run.metrics
        )
        await self.publish(event)
        # The first delivery may have stopped between promoting and announcing it: generators would
        # never hear of it. Announcing the adapter in service again is harmless to those that did.
        if run.promoted and (promoted := await self.registry.announcement()).version == run.version:
            await self.publish(promoted)
        return event

    async def plan(self, command: TrainAdapter) -> RunPlan:
        """Data and baselines of the run; refusals (empty, unknown dataset) are fatal, named by field."""
        samples = await collect_samples(self.db, self.store, command)
        folder = Path(self.settings.data_dir) / "training" / command.run_id / "images"
        examples = with_instance_prompt(await fetch_examples(self.store, samples, folder), command.config)
        train, heldout = split_heldout(examples, command.config.heldout_fraction)
        pointer = await self.registry.in_service()
        in_service = None
        if pointer["version"] is not None:
            in_service = (pointer["version"], (await self.store.get(pointer["s3_key"])).body)
        source, _ = await self.thread.run(resolve_model_source, self.settings.model, self.settings.data_dir)
        return RunPlan(command.run_id, command.config, source, self.settings.device, train, heldout, in_service)

    async def finish(self, command: TrainAdapter, outcome: RunOutcome) -> AdapterTrained:
        """Store the adapter and the curves, register, maybe promote, record, then announce."""
        version, prefix = command.run_id, artifacts.run_prefix(command.run_id)
        key = artifacts.adapter_key(version)
        metrics = describe_outcome(outcome)
        await self.store.put(key, outcome.adapter, "application/octet-stream")
        card = {
            "version": version,
            "run_id": command.run_id,
            "config": command.config.model_dump(),
            "metrics": metrics,
            "weights": artifacts.ADAPTER_WEIGHTS,
        }
        await self.store.put(
            f"adapters/{version}/adapter.json", json.dumps(card, indent=1).encode(), "application/json"
        )
        await self.store.put(
            f"{prefix}loss.json",
            artifacts.loss_curve_json(outcome.losses, outcome.heldout),
            "application/json",
        )
        png = await self.thread.run(artifacts.loss_curve_png, outcome.losses, outcome.heldout, f"run {version}")
        await self.store.put(f"{prefix}loss.png", png, "image/png")
        await self.registry.register(version, command.run_id, key, metrics, command.config.model_dump())
        promoted = await self.maybe_promote(version, metrics)
        record = {
            "version": version,
            "s3_key": key,
            "metrics": metrics,
            "validation": outcome.validation_keys,
            "resumed_from": outcome.resumed_from,
            "promoted": promoted is not None,
        }
        await self.runs.mark_succeeded(command.run_id, record)
        observability.RETRAINING_RUNS.labels(event="succeeded").inc()
        event = AdapterTrained(
            correlation_id=command.run_id, run_id=command.run_id, version=version, s3_key=key, metrics=metrics
        )
        await self.publish(event)
        if promoted is not None:
            await self.publish(promoted)
        return event

    async def maybe_promote(self, version: str, metrics: dict[str, float]) -> AdapterPromoted | None:
        """The automatic policy: beat the adapter in service (or the base model) on this run's held-out."""
        baseline = metrics.get("heldout_loss_in_service", metrics["heldout_loss_base"])
        if not self.settings.auto_promote or not beats(
            metrics["heldout_loss"], baseline, self.settings.min_improvement
        ):
            logger.info(
                "adapter %s stays a candidate: held-out %.5f vs %.5f",
                version,
                metrics["heldout_loss"],
                baseline,
            )
            return None
        logger.info("promoting %s: held-out %.5f beats %.5f", version, metrics["heldout_loss"], baseline)
        return await self.registry.promote(version, "auto")

    async def fail(self, command: TrainAdapter, reason: str, last_delivery: bool = False) -> None:
        """Record and announce a failure.

        The record is what gives the run's images back to the next run, so a store that cannot take it
        raises here: the command goes back to its queue and its next delivery fails and records again.
        Only on the last delivery the failure is announced unrecorded (the run then stays "running").
        """
        try:
            if await self.runs.mark_failed(command.run_id, reason):
                observability.RETRAINING_RUNS.labels(event="failed").inc()
                logger.warning("run %s failed; its images are available to the next run: %s", command.run_id, reason)
        except RetryableError:
            if not last_delivery:
                logger.warning("could not record failure of run %s; retrying the command", command.run_id)
                raise
            logger.warning("could not record failure of run %s on its last delivery", command.run_id, exc_info=True)
        await self.publish(TrainingFailed(correlation_id=command.run_id, run_id=command.run_id, reason=reason))
