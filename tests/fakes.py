"""In-memory stand-ins for the adapters the use cases are built from, for unit tests.

Each fake has the async methods its use case calls, with the same signatures and return types as the
real adapter, and keeps the rules a use case relies on (a succeeded job is never claimed again, a missing
key is ObjectNotFound, ratings fold as `services.ratings.scoring` says). Nothing here touches RabbitMQ,
MongoDB, S3 or torch.
"""

import asyncio
import hashlib
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from PIL import Image

from schemas.base import Message, utcnow
from schemas.generation import GenerateLogo, GenerationParams, ImageRef
from schemas.ratings import RateLogo
from schemas.training import AdapterPromoted
from services.ratings.scoring import Aggregate, RatingKey, RatingVersion, fold
from services.storage.adapters import NO_ADAPTER, AdapterRecord, AdapterStatus, UnknownAdapter
from services.storage.errors import ObjectNotFound
from services.storage.jobs import JobRecord, JobStatus, JobWithdrawn
from services.storage.rateable import RateableImage, RatingRefused
from services.storage.ratings import RecordedRating
from services.storage.s3 import StoredObject
from services.storage.training_runs import ClaimPolicy, RunStatus, TrainingRun
from workers.generator.pipeline import Generated, Interrupted, StepCallback

M = TypeVar("M", bound=Message)


class FakePublisher:
    """A `Publish` callable that keeps what it was given, in order."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    def of_type(self, kind: type[M]) -> list[M]:
        return [message for message in self.messages if isinstance(message, kind)]

    def types(self) -> list[str]:
        return [type(message).__name__ for message in self.messages]


class FakeObjectStore:
    """ObjectStore over a dict of key -> StoredObject."""

    def __init__(self) -> None:
        self.objects: dict[str, StoredObject] = {}

    async def ensure_bucket(self) -> None:
        return None

    async def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.objects[key] = StoredObject(body, content_type, hashlib.md5(body).hexdigest())

    async def get(self, key: str) -> StoredObject:
        if key not in self.objects:
            raise ObjectNotFound(key)
        return self.objects[key]

    async def exists(self, key: str) -> bool:
        return key in self.objects

    async def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    async def list_keys(self, prefix: str) -> list[str]:
        return sorted(key for key in self.objects if key.startswith(prefix))


def flat_png(seed: int, index: int, width: int, height: int) -> bytes:
    """A PNG of one colour, derived from the seed and the image's index."""
    colour = tuple(hashlib.sha256(f"{seed}:{index}".encode()).digest()[:3])
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


class FakeModel:
    """DiffusionModel's face to the generator: `submit` draws flat-colour PNGs at once, reporting every step."""

    def __init__(self, name: str = "fake-model", nsfw_checked: bool = False) -> None:
        self.name = name
        self.pipeline: object | None = object()  # "loaded": build_generator does not call load()
        self.nsfw_checked = nsfw_checked
        self.drawn: list[tuple[GenerationParams, int, str | None]] = []
        self.handed_out: list[asyncio.Future[Generated]] = []  # every drawing submitted, finished or stopped

    async def settled(self) -> None:
        """Wait until every drawing handed out has finished or been stopped."""
        await asyncio.gather(*self.handed_out, return_exceptions=True)

    async def load(self) -> None:
        self.pipeline = object()

    async def close(self) -> None:
        self.pipeline = None

    async def load_adapter(self, folder: Path, weight_name: str, adapter_name: str) -> None:
        return None

    async def unload_adapter(self, adapter_name: str) -> None:
        return None

    def submit(
        self,
        params: GenerationParams,
        seed: int,
        on_step: StepCallback | None = None,
        adapter_name: str | None = None,
        stop: threading.Event | None = None,
    ) -> "asyncio.Future[Generated]":
        # Drawn at the loop's next turn, as the model thread would start it: a stop set before then stops it.
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Generated] = loop.create_future()
        loop.call_soon(self._draw, future, params, seed, on_step, adapter_name, stop)
        self.handed_out.append(future)
        return future

    def _draw(
        self,
        future: "asyncio.Future[Generated]",
        params: GenerationParams,
        seed: int,
        on_step: StepCallback | None,
        adapter_name: str | None,
        stop: threading.Event | None,
    ) -> None:
        if stop is not None and stop.is_set():
            future.set_exception(Interrupted("stopped before the first step"))
            return
        self.drawn.append((params, seed, adapter_name))
        for step in range(1, params.num_steps + 1):
            if on_step is not None:
                on_step(step, params.num_steps)
        pngs = [flat_png(seed, index, params.width, params.height) for index in range(params.num_images)]
        future.set_result(Generated(pngs=pngs, nsfw=[False] * len(pngs), nsfw_checked=self.nsfw_checked))


class FakeJobRepository:
    """JobRepository over a dict of job id -> JobRecord, with the same status rules."""

    def __init__(self) -> None:
        self.jobs: dict[str, JobRecord] = {}
        self.images: dict[str, dict[str, Any]] = {}

    def _update(self, job_id: str, **fields: Any) -> None:
        stored = self.jobs[job_id].model_dump(by_alias=True)
        self.jobs[job_id] = JobRecord.model_validate({**stored, **fields, "updated_at": utcnow()})

    async def record_accepting(self, command: GenerateLogo) -> JobRecord:
        if command.correlation_id not in self.jobs:
            now = utcnow()
            self.jobs[command.correlation_id] = JobRecord(
                _id=command.correlation_id, status=JobStatus.ACCEPTING, params=command.params,
                requester=command.requester, idempotency_key=command.idempotency_key,
                progress={"total_steps": command.params.num_steps}, created_at=now, updated_at=now,
            )
        return self.jobs[command.correlation_id]

    async def withdraw(self, job_id: str) -> None:
        if job_id in self.jobs and self.jobs[job_id].status == JobStatus.ACCEPTING:
            self._update(job_id, status=JobStatus.WITHDRAWN)

    async def get(self, job_id: str) -> JobRecord | None:
        record = self.jobs.get(job_id)
        return None if record is None or record.status in JobStatus.HIDDEN else record

    async def mark_running(self, command: GenerateLogo, seed: int, model: str, adapter: str | None) -> JobRecord | None:
        job_id = command.correlation_id
        existing = self.jobs.get(job_id)
        if existing is not None and existing.status == JobStatus.SUCCEEDED:
            return None
        if existing is not None and existing.status == JobStatus.WITHDRAWN:
            raise JobWithdrawn(f"job {job_id}: withdrawn, the API answered 503 for it")
        if existing is None:
            await self.record_accepting(command)
        self._update(job_id, status=JobStatus.RUNNING, seed=seed, model=model, adapter=adapter,
                     progress={"step": 0, "total_steps": command.params.num_steps})
        return self.jobs[job_id]

    async def record_progress(self, job_id: str, step: int, total_steps: int) -> None:
        if job_id in self.jobs and self.jobs[job_id].status == JobStatus.RUNNING:
            self._update(job_id, progress={"step": step, "total_steps": total_steps})

    async def record_success(
        self, command: GenerateLogo, images: list[ImageRef], seed: int, nsfw_checked: bool
    ) -> None:
        for image in images:
            self.images.setdefault(image.image_id, {"job_id": command.correlation_id, "key": image.key, "seed": seed})
        steps = command.params.num_steps
        self._update(command.correlation_id, status=JobStatus.SUCCEEDED, images=images, nsfw_checked=nsfw_checked,
                     progress={"step": steps, "total_steps": steps}, finished_at=utcnow())

    async def record_failure(self, job_id: str, reason: str) -> None:
        if job_id in self.jobs and self.jobs[job_id].status not in (JobStatus.SUCCEEDED, JobStatus.WITHDRAWN):
            self._update(job_id, status=JobStatus.FAILED, error=reason)


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
            RecordedRating(command, outcome, images[command.image_id].job_id, result.aggregates[command.image_id],
                           before[command.image_id].score, self.claims.get(command.image_id))
            for command, outcome in zip(commands, result.outcomes, strict=True)
        ]


class FakeTrainingRunStore:
    """TrainingRunStore over a FakeRatingStore's aggregates: what the retraining trigger and the trainer call."""

    def __init__(self, scores: FakeRatingStore | None = None) -> None:
        self.scores = scores or FakeRatingStore()
        self.runs: dict[str, TrainingRun] = {}
        self.succeeded: dict[str, dict[str, Any]] = {}

    def _eligible(self, quality_bar: float) -> list[str]:
        passing = [(-aggregate.score, image_id) for image_id, aggregate in self.scores.aggregates.items()
                   if aggregate.score >= quality_bar and self.scores.claims.get(image_id) is None]
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
        self.runs[run_id] = TrainingRun(_id=run_id, status=RunStatus.PENDING, reason=reason, image_ids=image_ids,
                                        datasets=policy.datasets, config=policy.config,
                                        quality_bar=policy.quality_bar, created_at=utcnow())
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

    async def register(self, version: str, run_id: str, s3_key: str, metrics: dict[str, float],
                       config: dict[str, Any]) -> AdapterRecord:
        self.adapters.setdefault(version, AdapterRecord(version=version, run_id=run_id, s3_key=s3_key, metrics=metrics,
                                                        config=config, status=AdapterStatus.CANDIDATE,
                                                        created_at=utcnow()))
        return self.adapters[version]

    async def get(self, version: str) -> AdapterRecord | None:
        return self.adapters.get(version)

    async def in_service(self) -> dict[str, Any]:
        s3_key = self.adapters[self.version].s3_key if self.version is not None else None
        return {"_id": "current", "version": self.version, "s3_key": s3_key, "history": list(self.history)}

    async def announcement(self) -> AdapterPromoted:
        pointer = await self.in_service()
        return AdapterPromoted(correlation_id=self.version or NO_ADAPTER, version=self.version,
                               s3_key=pointer["s3_key"], previous_version=self.history[-1] if self.history else None)

    async def promote(self, version: str | None, reason: str = "manual") -> AdapterPromoted:
        version = None if version in (None, NO_ADAPTER) else version
        if version is not None and version not in self.adapters:
            raise UnknownAdapter(version)
        previous = self.version
        if previous != version:
            self.history.append(previous)
            self.version = version
        s3_key = self.adapters[version].s3_key if version is not None else None
        return AdapterPromoted(correlation_id=version or NO_ADAPTER, version=version, s3_key=s3_key,
                               previous_version=previous)


class InlineThread:
    """The trainer's ModelThread, running each call at once on the caller's thread."""

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)

    def close(self) -> None:
        return None
