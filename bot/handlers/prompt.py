"""Plain text outside any dialog is a prompt: draw it with the user's settings."""

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.types import Message

from bot.generation import Generations
from bot.prompt import check_prompt
from bot.updates import sender_id


async def unknown_command(message: Message) -> None:
    await message.answer("I don't know that command. /help lists what I can do.")


async def prompt(message: Message, bot: Bot, generations: Generations) -> None:
    user_id = sender_id(message)
    params = await generations.params_for(user_id, check_prompt(message.text or ""))
    await generations.submit(bot, message.chat.id, user_id, params)


def make_router() -> Router:
    """The prompt feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="prompt")
    router.message.register(unknown_command, F.text.startswith("/"))
    router.message.register(prompt, StateFilter(None), F.text)
    return router
