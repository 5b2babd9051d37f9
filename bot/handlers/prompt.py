"""Plain text outside any dialog is a prompt: draw it with the user's settings."""

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.types import Message

from bot.generation import Generations
from bot.prompt import check_prompt

router = Router(name="prompt")


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message) -> None:
    await message.answer("I don't know that command. /help lists what I can do.")


@router.message(StateFilter(None), F.text)
async def prompt(message: Message, bot: Bot, generations: Generations) -> None:
    params = await generations.params_for(message.from_user.id, check_prompt(message.text or ""))
    await generations.submit(bot, message.chat.id, message.from_user.id, params)
