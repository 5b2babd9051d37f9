"""What no other handler took: buttons with stale or forged data, and messages that are not text."""

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.errors import StaleButton


async def stale_button(query: CallbackQuery) -> None:
    raise StaleButton("This button is no longer valid. Send a new prompt or use /new.")


async def not_text(message: Message) -> None:
    await message.answer("Send me a text description of the logo you want, or /help.")


def make_router() -> Router:
    """The fallback feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="fallback")
    router.callback_query.register(stale_button)
    router.message.register(not_text)
    return router
