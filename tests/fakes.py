"""In-memory stand-ins for the adapters the use cases are built from, for unit tests.

Each fake has the async methods its use case calls, with the same signatures and return types as the
real adapter, and keeps the rules a use case relies on (a succeeded job is never claimed again, a withdrawn
one is refused, a missing key is ObjectNotFound). Nothing here touches RabbitMQ, MongoDB, S3 or torch.
The learning loop's stores are in tests/fakes_learning.py.
"""

import asyncio
import hashlib
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image

from schemas.base import Message, utcnow
from schemas.generation import GenerateLogo, GenerationParams, ImageRef
from services.storage.errors import ObjectNotFound
from services.storage.jobs import JobCancelled, JobRecord, JobStatus, JobWithdrawn
from services.storage.s3 import StoredObject
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
        self.arrivals = 0  # announced by note_arrival, not yet submitted nor cancelled

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

    def note_arrival(self) -> None:
        self.arrivals += 1

    def cancel_arrival(self) -> None:
        self.arrivals -= 1

    def submit(
        self,
        params: GenerationParams,
        seed: int,
        on_step: StepCallback | None = None,
        adapter_name: str | None = None,
        stop: threading.Event | None = None,
        init_image: bytes | None = None,
    ) -> "asyncio.Future[Generated]":
        # Drawn at the loop's next turn, as the model thread would start it: a stop set before then stops it.
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Generated] = loop.create_future()
        loop.call_soon(self._draw, future, params, seed, on_step, adapter_name, stop)
        self.handed_out.append(future)
        self.arrivals -= 1
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
                _id=command.correlation_id,
                status=JobStatus.ACCEPTING,
                params=command.params,
                requester=command.requester,
                idempotency_key=command.idempotency_key,
                progress={"total_steps": command.params.num_steps},
                created_at=now,
                updated_at=now,
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
        if existing is not None and existing.status == JobStatus.CANCELLED:
            raise JobCancelled(f"job {job_id}: cancelled")
        if existing is None:
            await self.record_accepting(command)
        self._update(
            job_id,
            status=JobStatus.RUNNING,
            seed=seed,
            model=model,
            adapter=adapter,
            progress={"step": 0, "total_steps": command.params.num_steps},
        )
        return self.jobs[job_id]

    async def record_progress(self, job_id: str, step: int, total_steps: int) -> None:
        if job_id in self.jobs and self.jobs[job_id].status == JobStatus.RUNNING:
            self._update(job_id, progress={"step": step, "total_steps": total_steps})

    async def record_success(
        self, command: GenerateLogo, images: list[ImageRef], seed: int, nsfw_checked: bool
    ) -> bool:
        if self.jobs.get(command.correlation_id) and self.jobs[command.correlation_id].status == JobStatus.CANCELLED:
            return False
        for image in images:
            self.images.setdefault(image.image_id, {"job_id": command.correlation_id, "key": image.key, "seed": seed})
        steps = command.params.num_steps
        self._update(
            command.correlation_id,
            status=JobStatus.SUCCEEDED,
            images=images,
            nsfw_checked=nsfw_checked,
            progress={"step": steps, "total_steps": steps},
            finished_at=utcnow(),
        )
        return True

    async def record_failure(self, job_id: str, reason: str) -> None:
        if job_id in self.jobs and self.jobs[job_id].status not in (JobStatus.SUCCEEDED, JobStatus.WITHDRAWN):
            self._update(job_id, status=JobStatus.FAILED, error=reason)


class InlineThread:
    """The trainer's ModelThread, running each call at once on the caller's thread."""

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)

    def close(self) -> None:
        return None
