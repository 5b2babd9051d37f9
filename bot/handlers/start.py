"""/start, /help and /cancel."""

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram_i18n import I18nContext


async def start(message: Message, state: FSMContext, i18n: I18nContext) -> None:
    await state.clear()
    await message.answer(i18n("start"))


async def help_command(message: Message, i18n: I18nContext) -> None:
    await message.answer(i18n("help"))


async def cancel(message: Message, state: FSMContext, i18n: I18nContext) -> None:
    had_state = await state.get_state() is not None
    await state.clear()
    await message.answer(i18n("cancelled" if had_state else "nothing-to-cancel"))


def make_router() -> Router:
    """The start feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(help_command, Command("help"))
    router.message.register(cancel, Command("cancel"))
    return router
