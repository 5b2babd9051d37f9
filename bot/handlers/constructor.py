"""The prompt constructor (/new): one question per step, hint buttons or free text, then review, edit, generate.

The dialog lives in the FSM storage (MongoDB), so a restarted bot carries on where the user was.
"""

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram_i18n import I18nContext

from bot.errors import StaleButton
from bot.generation import Generations
from bot.i18n import Translate
from bot.keyboards import HintCB, ReviewCB, hint_keyboard, review_keyboard
from bot.prompt import STEPS, Step, check_prompt, clean_answer, compose_prompt, next_step, not_english, step_named
from bot.updates import button_message


class Constructor(StatesGroup):
    name = State()
    field = State()
    symbol = State()
    style = State()
    palette = State()
    background = State()
    extras = State()
    review = State()
    editing = State()


STEP_STATES = {step.name: getattr(Constructor, step.name) for step in STEPS}
STATE_STEPS = {state.state: name for name, state in STEP_STATES.items()}


async def ask(message: Message, state: FSMContext, step: Step, t: Translate) -> None:
    await state.set_state(STEP_STATES[step.name])
    number = [s.name for s in STEPS].index(step.name) + 1
    text = t("step-question", number=number, total=len(STEPS), question=t(step.question))
    await message.answer(text, reply_markup=hint_keyboard(t, step))


async def show_review(message: Message, state: FSMContext, prompt: str, t: Translate) -> None:
    """The composed (or edited) prompt, with a note on any words the model's English encoder reads poorly."""
    await state.update_data(prompt=prompt)
    await state.set_state(Constructor.review)
    text = t("review", prompt=prompt)
    foreign = not_english(prompt)
    if foreign:
        text += "\n\n" + t("review-not-english", words=", ".join(dict.fromkeys(foreign)))
    await message.answer(text, reply_markup=review_keyboard(t))


async def start_editing(
    message: Message, state: FSMContext, prompt: str, t: Translate, params: dict[str, Any] | None = None
) -> None:
    """Put the user in the edit step with `prompt` as the text to change (also used from results and history).

    `params`: the parameters of the job being edited; the redraw keeps them (with a new seed) instead of
    taking the user's current settings.
    """
    await state.set_data({"answers": {}, "prompt": prompt} | ({"base_params": params} if params else {}))
    await state.set_state(Constructor.editing)
    await message.answer(t("editing", prompt=prompt))


async def record_answer(message: Message, state: FSMContext, step: Step, text: str, t: Translate) -> None:
    answer = clean_answer(step, text, skip_word=t("skip-word"))
    data = await state.get_data()
    answers = {**data.get("answers", {}), step.name: answer}
    await state.update_data(answers=answers)
    following = next_step(step.name)
    if following is not None:
        await ask(message, state, following, t)
    else:
        await show_review(message, state, compose_prompt(answers), t)


async def new_dialog(message: Message, state: FSMContext, i18n: Translate) -> None:
    await state.set_data({"answers": {}})
    await ask(message, state, STEPS[0], i18n)


async def answer_text(message: Message, state: FSMContext, i18n: I18nContext) -> None:
    current = await state.get_state()
    await record_answer(message, state, step_named(STATE_STEPS[current]), message.text or "", i18n)


async def answer_hint(query: CallbackQuery, callback_data: HintCB, state: FSMContext, i18n: I18nContext) -> None:
    current = await state.get_state()
    if current is None or STATE_STEPS.get(current) != callback_data.step:
        raise StaleButton("error-step-over")
    message = button_message(query)
    step = step_named(callback_data.step)
    if callback_data.index >= len(step.hints):
        raise StaleButton("error-not-a-choice")
    await query.answer()
    await record_answer(message, state, step, step.hints[callback_data.index].value, i18n)


async def edited_prompt(message: Message, state: FSMContext, i18n: I18nContext) -> None:
    await show_review(message, state, check_prompt(message.text or ""), i18n)


async def text_in_review(message: Message, i18n: I18nContext) -> None:
    await message.answer(i18n("review-use-buttons"))


async def review_action(
    query: CallbackQuery,
    callback_data: ReviewCB,
    state: FSMContext,
    bot: Bot,
    generations: Generations,
    i18n: I18nContext,
) -> None:
    data = await state.get_data()
    if await state.get_state() != Constructor.review.state or "prompt" not in data:
        raise StaleButton("error-prompt-closed")
    message = button_message(query)
    await query.answer()
    if callback_data.action == "edit":
        await start_editing(message, state, data["prompt"], i18n, data.get("base_params"))
    elif callback_data.action == "restart":
        await new_dialog(message, state, i18n)
    else:
        prompt = check_prompt(data["prompt"])
        if "base_params" in data:
            params = generations.params_like(data["base_params"], prompt)
        else:
            params = await generations.params_for(query.from_user.id, prompt)
        await generations.submit(bot, message.chat.id, query.from_user.id, params, i18n)
        await state.clear()


def make_router() -> Router:
    """The constructor feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="constructor")
    router.message.register(new_dialog, Command("new"))
    router.message.register(answer_text, StateFilter(*STEP_STATES.values()), F.text, ~F.text.startswith("/"))
    router.callback_query.register(answer_hint, HintCB.filter())
    router.message.register(edited_prompt, Constructor.editing, F.text, ~F.text.startswith("/"))
    router.message.register(text_in_review, Constructor.review, F.text, ~F.text.startswith("/"))
    router.callback_query.register(review_action, ReviewCB.filter())
    return router
