"""/start, /help and /cancel."""

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

HELP = """I draw logos from a description. 🎨

Send any text and I draw it with your settings, e.g.
  a logo of a fox, white background, orange foreground, minimalism, modern

/new – build a prompt step by step
/settings – images, size, steps, guidance, seed, scheduler (also: /set steps 20)
/history – your earlier logos; open one to edit and draw again
/best – the best-rated logos, everyone's and yours
/cancel – leave the current dialog
/help – this message"""


async def start(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer("Hi! " + HELP)


async def help_command(message: Message) -> None:
    await message.answer(HELP)


async def cancel(message: Message, state: FSMContext) -> None:
    had_state = await state.get_state() is not None
    await state.clear()
    await message.answer("Cancelled." if had_state else "Nothing to cancel.")


def make_router() -> Router:
    """The start feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(help_command, Command("help"))
    router.message.register(cancel, Command("cancel"))
    return router
