"""Updates being handled, counted, so that a stopping bot lets them finish before closing its connections.

aiogram handles each update in a task of its own (polling and webhook alike) and does not wait for them
when it stops; a handler cut off between "⏳ Queued" and publishing its GenerateLogo would lose the job.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

logger = logging.getLogger(__name__)


class InFlight(BaseMiddleware):
    """An outer update middleware: counts handlers running; `drain` waits until none is."""

    def __init__(self) -> None:
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self._running += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    async def drain(self, timeout_s: float) -> None:
        """Wait up to `timeout_s` for the updates in progress; past that, log how many are cut off."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            logger.warning("stopping with %d updates still being handled", self._running)
