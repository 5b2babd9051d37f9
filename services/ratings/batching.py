"""Group commit: requests that arrive while one write is in flight are written together in the next one.

Each RateLogo delivery runs as its own task (up to the channel's prefetch); they all submit here and
await their own result, so every message is still acknowledged only after its write committed, while
MongoDB sees one transaction per batch instead of one per rating.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

# The flush returns, per item in order, its result or the exception its submitter should raise.
Flush = Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]]


class BatchWriter(Generic[Item, Result]):
    def __init__(self, flush: Flush, max_size: int) -> None:
        self._flush = flush
        self._max_size = max_size
        self._pending: list[tuple[Item, asyncio.Future]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def submit(self, item: Item) -> Result:
        """Queue one item for the next write and wait for its own result."""
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="batch-writer")
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            # One turn of the loop lets deliveries already read from the socket join this batch.
            await asyncio.sleep(0)
            while self._pending:
                batch, self._pending = self._pending[: self._max_size], self._pending[self._max_size :]
                await self._write(batch)

    async def _write(self, batch: list[tuple[Item, asyncio.Future]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
        except Exception as error:  # the whole write failed: every submitter gets the same error
            results = [error] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its submitter was cancelled (shutdown); the message will be redelivered
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for _, future in self._pending:
            future.cancel()
        self._pending.clear()
