"""The device's own failure, named where the model runs: out of memory is retryable, never fatal; and its memory,
as metrics.

Called on the model thread, around a model call; torch is imported there already.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Gauge

from services.errors import DeviceOutOfMemory


def is_out_of_memory(error: BaseException) -> bool:
    """torch's OutOfMemoryError, or a RuntimeError saying so (MPS, cuDNN and older torch raise those)."""
    import torch

    return isinstance(error, torch.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
    )


@contextmanager
def device_memory_errors(what: str) -> Iterator[None]:
    """Turn the device running out of memory during `what` into DeviceOutOfMemory; the rest passes as is."""
    try:
        yield
    except RuntimeError as error:
        if not is_out_of_memory(error):
            raise
        _release_cached_memory()
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DeviceOutOfMemory(f"{what}: the device ran out of memory ({first_line})") from error


def _release_cached_memory() -> None:
    """Give the allocator's cached blocks back, so the retry (or the next job) starts from a clean device."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


GPU_MEMORY = Gauge("logoforge_gpu_memory_bytes", "CUDA memory of this process by kind.", ["kind"])


def watch_gpu_memory() -> None:
    """Read GPU memory at each scrape, on a process whose torch sees CUDA (no series on a CPU-only machine)."""
    import torch

    if torch.cuda.is_available():
        GPU_MEMORY.labels(kind="allocated").set_function(torch.cuda.memory_allocated)
        GPU_MEMORY.labels(kind="reserved").set_function(torch.cuda.memory_reserved)
