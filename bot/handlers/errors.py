"""The bot's error edge: a refused input becomes a clear reply; anything else is logged and apologised for."""

import logging

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, User
from aiogram_i18n import I18nContext
from aiogram_i18n.cores import FluentRuntimeCore

from bot.errors import UserError
from bot.i18n import Translate, texts_for_update

logger = logging.getLogger(__name__)


async def _reply(event: ErrorEvent, text: str) -> None:
    update = event.update
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200], show_alert=True)
    elif update.message is not None:
        await update.message.answer(text)


def _texts(i18n: I18nContext | None, core: FluentRuntimeCore, user: User | None) -> Translate:
    """The user's language; Telegram's, when the update failed before it was looked up."""
    return i18n if i18n is not None else texts_for_update(core, user)


async def refused(
    event: ErrorEvent,
    i18n_core: FluentRuntimeCore,
    event_from_user: User | None = None,
    i18n: I18nContext | None = None,
) -> None:
    error = event.exception
    assert isinstance(error, UserError)  # the filter below lets only these through
    t = _texts(i18n, i18n_core, event_from_user)
    await _reply(event, f"⚠️ {t(error.key, **error.params)}")


async def unexpected(
    event: ErrorEvent,
    i18n_core: FluentRuntimeCore,
    event_from_user: User | None = None,
    i18n: I18nContext | None = None,
) -> None:
    logger.error("update %s failed", event.update.update_id, exc_info=event.exception)
    await _reply(event, _texts(i18n, i18n_core, event_from_user)("error-unexpected"))


def make_router() -> Router:
    """The errors feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="errors")
    router.errors.register(refused, ExceptionTypeFilter(UserError))
    router.errors.register(unexpected)
    return router
