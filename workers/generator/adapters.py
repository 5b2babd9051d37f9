"""LoRA adapters in a running generator: which ones the pipeline holds, and which one is in service.

The adapter in service is read from MongoDB at start-up and changed by `AdapterPromoted` events, with no
restart. Loading goes through the model's single thread, so it always happens between two jobs, never
during one; and each job selects its adapter on that same thread right before it runs, so a promotion
that lands while a job waits applies from the next job on. A request may pin a version (loaded on
demand) or ask for "none" (the base model). Adapters other than the one in service are evicted when
more than `max_loaded` are held and no job is using them.
"""

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from services import observability
from services.errors import InvalidInput
from services.storage.adapters import NO_ADAPTER, AdapterRegistry
from services.storage.s3 import ObjectStore
from workers.generator.pipeline import DiffusionModel

logger = logging.getLogger(__name__)

WEIGHTS_NAME = "pytorch_lora_weights.safetensors"
MAX_LOADED = 4


def internal_name(version: str) -> str:
    """peft adapter names become module keys: derive a safe one from the version."""
    return "lf_" + hashlib.sha1(version.encode()).hexdigest()[:16]


class AdapterManager:
    def __init__(
        self,
        model: DiffusionModel,
        registry: AdapterRegistry,
        store: ObjectStore,
        cache_dir: Path,
        max_loaded: int = MAX_LOADED,
    ) -> None:
        self._model = model
        self._registry = registry
        self._store = store
        self._cache_dir = Path(cache_dir)
        self._max_loaded = max_loaded
        # version -> adapter name, least recently used first
        self._loaded: OrderedDict[str, str] = OrderedDict()
        self._in_use: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self.in_service: str | None = None

    async def start(self) -> None:
        """Load the adapter in service (if any) before the first job."""
        pointer = await self._registry.in_service()
        if pointer["version"] is not None:
            await self.switch(pointer["version"], pointer["s3_key"])
        observability.set_adapter_in_service(self.in_service)
        logger.info("adapter in service: %s", self.in_service or "none (base model)")

    async def switch(self, version: str | None, s3_key: str | None = None) -> None:
        """Put `version` in service for every job that starts from now on."""
        started = time.perf_counter()
        if version is not None:
            await self._ensure_loaded(version, s3_key)
        self.in_service = version
        observability.ADAPTER_SWAP_SECONDS.observe(time.perf_counter() - started)
        observability.set_adapter_in_service(version)
        logger.info("now serving adapter %s", version or "none (base model)")

    @asynccontextmanager
    async def use(self, requested: str | None) -> AsyncIterator[tuple[str | None, str | None]]:
        """The (version, adapter name) a job runs with: the pinned one, none, or the one in service."""
        if requested == NO_ADAPTER:
            version = None
        elif requested is None:
            version = self.in_service
        else:
            version = requested
        if version is not None:
            await self._ensure_loaded(version)
        self._in_use[version or NO_ADAPTER] = self._in_use.get(version or NO_ADAPTER, 0) + 1
        try:
            yield version, (self._loaded[version] if version is not None else None)
        finally:
            self._in_use[version or NO_ADAPTER] -= 1

    async def _ensure_loaded(self, version: str, s3_key: str | None = None) -> None:
        async with self._lock:
            if version in self._loaded:
                self._loaded.move_to_end(version)
                return
            if s3_key is None:
                adapter = await self._registry.get(version)
                if adapter is None:
                    raise InvalidInput(f"params.adapter: unknown adapter version {version!r}")
                s3_key = adapter.s3_key
            folder = self._cache_dir / internal_name(version)
            body = (await self._store.get(s3_key)).body
            await asyncio.to_thread(_write, folder / WEIGHTS_NAME, body)
            name = internal_name(version)
            await self._model.load_adapter(folder, WEIGHTS_NAME, name)
            self._loaded[version] = name
            await self._evict()

    async def _evict(self) -> None:
        for version in list(self._loaded):
            if len(self._loaded) <= self._max_loaded:
                return
            if version == self.in_service or self._in_use.get(version, 0) > 0:
                continue
            await self._model.unload_adapter(self._loaded.pop(version))
            logger.info("evicted adapter %s", version)


def _write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(body)
    partial.replace(path)
