"""A request middleware for the bot's session: on Telegram's flood limit, wait as told and send again."""

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response

logger = logging.getLogger(__name__)


class RetryAfter(BaseRequestMiddleware):
    """Retries a call that got `TelegramRetryAfter` after the wait Telegram asked for, a few times at most."""

    def __init__(self, max_attempts: int = 3, max_wait_s: float = 60.0) -> None:
        self.max_attempts = max_attempts
        self.max_wait_s = max_wait_s

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt >= self.max_attempts or error.retry_after > self.max_wait_s:
                    raise
                logger.warning(
                    "%s hit the flood limit; retrying in %ss (attempt %d)",
                    type(method).__name__,
                    error.retry_after,
                    attempt + 1,
                )
                await asyncio.sleep(error.retry_after)
                attempt += 1
