"""The bot's error edge: a refused input becomes a clear reply; anything else is logged and apologised for."""

import logging

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from bot.errors import UserError

logger = logging.getLogger(__name__)


async def _reply(event: ErrorEvent, text: str) -> None:
    update = event.update
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200], show_alert=True)
    elif update.message is not None:
        await update.message.answer(text)


async def refused(event: ErrorEvent) -> None:
    await _reply(event, f"⚠️ {event.exception}")


async def unexpected(event: ErrorEvent) -> None:
    logger.error("update %s failed", event.update.update_id, exc_info=event.exception)
    await _reply(event, "😵 Something went wrong on our side. Please try again in a moment.")


def make_router() -> Router:
    """The errors feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="errors")
    router.errors.register(refused, ExceptionTypeFilter(UserError))
    router.errors.register(unexpected)
    return router
