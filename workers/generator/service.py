"""One GenerateLogo command, handled idempotently: draw, store PNGs under deterministic keys, record, announce."""

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from opentelemetry import trace

from schemas.base import utcnow
from schemas.generation import (
    FailureKind,
    GenerateLogo,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
    ImageRef,
    LogoGenerated,
)
from services import observability
from services.errors import InvalidInput, MissingData
from services.messaging import Publish
from services.storage.errors import ObjectNotFound
from services.storage.jobs import JobCancelled, JobRecord, JobRepository
from services.storage.s3 import ObjectStore, image_key
from workers.generator.adapters import AdapterManager
from workers.generator.pipeline import DiffusionModel, Generated, Interrupted, StepCallback

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


def seed_for(command: GenerateLogo) -> int:
    """The requested seed, or one derived from the job id so that a redelivery draws the same images."""
    if command.params.seed is not None:
        return command.params.seed
    return int.from_bytes(hashlib.sha256(command.correlation_id.encode()).digest()[:4], "big")


def image_id(job_id: str, index: int) -> str:
    return f"{job_id}-{index}"


class ProgressReporter:
    """Carries step callbacks from the model thread to the loop; publishes at most one event per interval."""

    def __init__(self, publish: Publish, jobs: JobRepository, job_id: str, interval_s: float) -> None:
        self._publish = publish
        self._jobs = jobs
        self._job_id = job_id
        self._interval_s = interval_s
        self._loop = asyncio.get_running_loop()
        self._latest: tuple[int, int] | None = None
        # Counted from the start: a job shorter than the interval sends no progress, only started and done.
        self._last_sent = time.monotonic()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def on_step(self, step: int, total_steps: int) -> None:
        """Called on the model thread."""
        self._loop.call_soon_threadsafe(self._note, step, total_steps)

    def _note(self, step: int, total_steps: int) -> None:
        self._latest = (step, total_steps)
        self._wake.set()

    async def __aenter__(self) -> "ProgressReporter":
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            wait_s = self._last_sent + self._interval_s - time.monotonic()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            if self._latest is None:
                continue
            step, total_steps = self._latest
            self._last_sent = time.monotonic()
            try:
                await self._publish(GenerationProgress(correlation_id=self._job_id, step=step, total_steps=total_steps))
                await self._jobs.record_progress(self._job_id, step, total_steps)
            except Exception:  # progress is advisory: a lost update must not fail the job
                logger.warning("progress update for %s failed", self._job_id, exc_info=True)


@asynccontextmanager
async def _no_adapter() -> AsyncIterator[tuple[None, None]]:
    yield None, None


class Drawing:
    """One job's model call, which may start before the job is claimed and be abandoned if the claim fails."""

    def __init__(
        self,
        model: DiffusionModel,
        command: GenerateLogo,
        seed: int,
        on_step: StepCallback,
        adapter_name: str | None,
        init_image: bytes | None = None,
    ) -> None:
        self._model = model
        self._init_image = init_image
        self._command = command
        self._seed = seed
        self._on_step = on_step
        self._adapter_name = adapter_name
        self._stop = threading.Event()
        self._future: asyncio.Future[Generated] | None = None
        self._started = 0.0
        self.elapsed_s = 0.0

    @property
    def submitted(self) -> bool:
        return self._future is not None

    def start(self) -> "asyncio.Future[Generated]":
        if self._future is None:
            self._started = time.perf_counter()
            self._future = self._model.submit(
                self._command.params, self._seed, self._on_step, self._adapter_name, self._stop, self._init_image
            )
        return self._future

    async def result(self) -> Generated:
        try:
            return await self.start()
        finally:
            self.elapsed_s = time.perf_counter() - self._started

    def stop(self) -> None:
        """End the drawing at its next step: alone, the loop ends; in a batch, it leaves and the others go on."""
        self._stop.set()

    async def abandon(self) -> None:
        """Stop the model at its next step and wait for the thread to let go of it; its result is dropped."""
        self._stop.set()
        if self._future is not None:
            await asyncio.gather(self._future, return_exceptions=True)


class Generator:
    """The generator's use case, assembled from its adapters (unit tests give it fakes: tests/fakes.py)."""

    def __init__(
        self,
        model: DiffusionModel,
        jobs: JobRepository,
        store: ObjectStore,
        publish: Publish,
        progress_interval_s: float = 0.5,
        adapters: AdapterManager | None = None,
        link: Callable[[str], str] | None = None,
    ) -> None:
        self.model = model
        self.jobs = jobs
        self.store = store
        self.publish = publish
        self.progress_interval_s = progress_interval_s
        self.adapters = adapters
        self.link = link  # an S3 key's signed HTTP link, for LogoGenerated; None: the event carries keys only
        self._drawing: dict[str, Drawing] = {}  # the jobs this generator is drawing now, by id
        self._cancelled: set[str] = set()  # those of them cancelled while drawn

    def cancel(self, job_id: str) -> bool:
        """Stop drawing a cancelled job, if this generator is drawing it; its images are then dropped."""
        drawing = self._drawing.get(job_id)
        if drawing is None:
            return False
        self._cancelled.add(job_id)
        drawing.stop()
        return True

    def _linked(self, images: list[ImageRef]) -> list[ImageRef]:
        if self.link is None:
            return images
        return [image.model_copy(update={"url": self.link(image.key)}) for image in images]

    async def handle(self, command: GenerateLogo, first_delivery: bool = True) -> LogoGenerated | None:
        """Draw, store and announce one job; None when it was cancelled (the API announced that).

        On a first delivery the model starts drawing while the job is claimed in MongoDB, so the claim's
        round trip costs no time; should the claim find the job already done (a publisher sent it twice),
        the drawing is interrupted and thrown away. A redelivered command is claimed first, since it may
        well be done already.
        """
        job_id = command.correlation_id
        started = time.perf_counter()
        seed = seed_for(command)
        init_image = await self._starting_image(command)
        self.model.note_arrival()  # a batch being formed may wait a moment for this job
        drawing: Drawing | None = None
        try:
            async with self._adapter(command.params.adapter) as (adapter, adapter_name):
                reporter = ProgressReporter(self.publish, self.jobs, job_id, self.progress_interval_s)
                drawing = Drawing(self.model, command, seed, reporter.on_step, adapter_name, init_image)
                if first_delivery:
                    drawing.start()
                try:
                    claimed = await self.jobs.mark_running(command, seed, self.model.name, adapter)
                except JobCancelled:
                    await drawing.abandon()
                    logger.info("job %s: cancelled before it was drawn", job_id)
                    self._ended(command, "cancelled")
                    return None
                except BaseException:
                    await drawing.abandon()
                    raise
                if claimed is None:
                    await drawing.abandon()
                    return await self._announce_again(command)
                if first_delivery:
                    observability.QUEUE_WAIT.observe(max(0.0, (utcnow() - command.occurred_at).total_seconds()))
                # Announce the start while the model draws; it must be confirmed before the job completes.
                start_event = GenerationStarted(
                    correlation_id=job_id, total_steps=command.params.denoising_steps, seed=seed
                )
                announcing = asyncio.ensure_future(self.publish(start_event))
                self._drawing[job_id] = drawing
                try:
                    async with reporter:
                        generated = await drawing.result()
                except Interrupted:
                    if job_id not in self._cancelled:
                        raise
                finally:
                    await announcing
                    self._drawing.pop(job_id, None)
                    cancelled = job_id in self._cancelled
                    self._cancelled.discard(job_id)
                if cancelled:
                    logger.info("job %s: cancelled while drawn; its images are dropped", job_id)
                    self._ended(command, "cancelled")
                    return None
        finally:
            if drawing is None or not drawing.submitted:
                self.model.cancel_arrival()
        model_s = drawing.elapsed_s if drawing is not None else 0.0

        images = [
            ImageRef(image_id=image_id(job_id, index), index=index, key=image_key(job_id, index), nsfw=nsfw)
            for index, nsfw in enumerate(generated.nsfw)
        ]
        # The images exist before any record says so, and the records are written before anyone is told.
        with tracer.start_as_current_span("store images", attributes={"logoforge.images": len(images)}):
            await asyncio.gather(
                *(self.store.put(ref.key, png, "image/png") for ref, png in zip(images, generated.pngs, strict=True))
            )
        if not await self.jobs.record_success(command, images, seed, generated.nsfw_checked):
            # Cancelled while its images were being stored: nothing of it stays.
            await asyncio.gather(*(self.store.delete(ref.key) for ref in images))
            logger.info("job %s: cancelled while stored; its images were removed", job_id)
            self._ended(command, "cancelled")
            return None
        # Counted once recorded: a redelivery after a lost announcement only announces it again.
        observability.IMAGES_GENERATED.inc(len(images))
        observability.NSFW_FLAGGED.inc(sum(generated.nsfw))
        self._ended(command, "succeeded")
        event = LogoGenerated(
            correlation_id=job_id,
            requester=command.requester,
            params=command.params,
            seed=seed,
            images=self._linked(images),
            nsfw_checked=generated.nsfw_checked,
            model=self.model.name,
            adapter=adapter,
        )
        await self.publish(event)
        total_s = time.perf_counter() - started
        logger.info("job %s: %d image(s) in %.0f ms (model %.0f ms)", job_id, len(images), total_s * 1e3, model_s * 1e3)
        return event

    @staticmethod
    def _ended(command: GenerateLogo | None, outcome: str) -> None:
        channel = command.requester.channel.value if command is not None else "unknown"
        observability.JOB_OUTCOMES.labels(channel=channel, outcome=outcome).inc()

    async def _starting_image(self, command: GenerateLogo) -> bytes | None:
        """A variation's starting image from S3; InvalidInput (the job fails alone) when it is gone."""
        parent = command.params.variation_of
        if parent is None:
            return None
        job_id, _, index = parent.rpartition("-")
        try:
            return (await self.store.get(image_key(job_id, int(index)))).body
        except ObjectNotFound:
            raise InvalidInput(f"params.variation_of: image {parent} is gone from storage") from None

    async def _announce_again(self, command: GenerateLogo) -> LogoGenerated:
        logger.info("job %s already done; announcing it again", command.correlation_id)
        record = await self.jobs.get(command.correlation_id)
        if record is None:  # mark_running just saw it succeeded, and job records are never deleted
            raise MissingData(f"job {command.correlation_id}: done, but its record is gone")
        event = self._event_from_record(command, record)
        await self.publish(event)
        return event

    def _adapter(self, requested: str | None):
        """The adapter this job runs with (see AdapterManager.use); the base model when adapters are off."""
        if self.adapters is not None:
            return self.adapters.use(requested)
        if requested not in (None, "none"):
            raise InvalidInput(f"params.adapter: this generator serves no adapters, got {requested!r}")
        return _no_adapter()

    def _event_from_record(self, command: GenerateLogo, record: JobRecord) -> LogoGenerated:
        if record.seed is None:  # record_success is written after mark_running, which set the seed
            raise MissingData(f"job {command.correlation_id}: done, but its record has no seed")
        return LogoGenerated(
            correlation_id=command.correlation_id,
            requester=command.requester,
            params=command.params,
            seed=record.seed,
            images=self._linked(record.images),
            nsfw_checked=bool(record.nsfw_checked),
            model=record.model or self.model.name,
            adapter=record.adapter,
        )

    async def fail(self, job_id: str, reason: str, kind: FailureKind, command: GenerateLogo | None = None) -> None:
        """Record and announce a failure; best effort, since the stores may be what failed."""
        requester = command.requester if command is not None else None
        self._ended(command, "failed")
        try:
            await self.jobs.record_failure(job_id, reason)
        except Exception:
            logger.warning("could not record failure of %s", job_id, exc_info=True)
        await self.publish(GenerationFailed(correlation_id=job_id, requester=requester, reason=reason, kind=kind))
