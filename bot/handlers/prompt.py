"""Plain text outside any dialog is a prompt: draw it with the user's settings.

A prompt not in English (Cyrillic words) is held with a note first: the model's text encoder learnt English
captions. One tap draws it as it is, another opens the constructor, which composes an English prompt.
"""

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram_i18n import I18nContext

from bot.errors import StaleButton
from bot.generation import Generations
from bot.handlers.constructor import new_dialog
from bot.keyboards import ForeignPromptCB, foreign_prompt_keyboard
from bot.prompt import check_prompt, not_english
from bot.updates import button_message, sender_id


class ForeignPrompt(StatesGroup):
    held = State()  # a prompt not in English, waiting for "draw anyway" or the constructor


async def unknown_command(message: Message, i18n: I18nContext) -> None:
    await message.answer(i18n("unknown-command"))


async def prompt(message: Message, bot: Bot, state: FSMContext, generations: Generations, i18n: I18nContext) -> None:
    user_id = sender_id(message)
    text = check_prompt(message.text or "")
    if not_english(text):
        await state.set_state(ForeignPrompt.held)
        await state.set_data({"prompt": text})
        await message.answer(i18n("not-english-prompt"), reply_markup=foreign_prompt_keyboard(i18n))
        return
    await state.clear()
    params = await generations.params_for(user_id, text)
    await generations.submit(bot, message.chat.id, user_id, params, i18n)


async def foreign_prompt_action(
    query: CallbackQuery,
    callback_data: ForeignPromptCB,
    bot: Bot,
    state: FSMContext,
    generations: Generations,
    i18n: I18nContext,
) -> None:
    data = await state.get_data()
    if await state.get_state() != ForeignPrompt.held.state or "prompt" not in data:
        raise StaleButton("error-prompt-closed")
    message = button_message(query)
    await query.answer()
    if callback_data.action == "constructor":
        await new_dialog(message, state, i18n)
        return
    await state.clear()
    params = await generations.params_for(query.from_user.id, data["prompt"])
    await generations.submit(bot, message.chat.id, query.from_user.id, params, i18n)


def make_router() -> Router:
    """The prompt feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="prompt")
    router.message.register(unknown_command, F.text.startswith("/"))
    # A new text replaces a held one.
    router.message.register(prompt, StateFilter(None, ForeignPrompt.held), F.text)
    router.callback_query.register(foreign_prompt_action, ForeignPromptCB.filter())
    return router
