"""What no other handler took: buttons with stale or forged data, and messages that are not text."""

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram_i18n import I18nContext

from bot.errors import StaleButton


async def stale_button(query: CallbackQuery) -> None:
    raise StaleButton("error-stale-button")


async def not_text(message: Message, i18n: I18nContext) -> None:
    await message.answer(i18n("not-text"))


def make_router() -> Router:
    """The fallback feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="fallback")
    router.callback_query.register(stale_button)
    router.message.register(not_text)
    return router
