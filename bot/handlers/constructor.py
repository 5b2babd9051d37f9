"""The prompt constructor (/new): one question per step, hint buttons or free text, then review, edit, generate.

The dialog lives in the FSM storage (MongoDB), so a restarted bot carries on where the user was.
"""

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.errors import StaleButton
from bot.generation import Generations
from bot.keyboards import HintCB, ReviewCB, hint_keyboard, review_keyboard
from bot.prompt import STEPS, Step, check_prompt, clean_answer, compose_prompt, next_step, step_named
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


async def ask(message: Message, state: FSMContext, step: Step) -> None:
    await state.set_state(STEP_STATES[step.name])
    number = [s.name for s in STEPS].index(step.name) + 1
    await message.answer(f"Step {number}/{len(STEPS)}: {step.question}", reply_markup=hint_keyboard(step))


async def show_review(message: Message, state: FSMContext, prompt: str) -> None:
    await state.update_data(prompt=prompt)
    await state.set_state(Constructor.review)
    await message.answer(f"Your prompt:\n\n{prompt}\n\nGenerate it, or edit it first.", reply_markup=review_keyboard())


async def start_editing(
    message: Message, state: FSMContext, prompt: str, params: dict[str, Any] | None = None
) -> None:
    """Put the user in the edit step with `prompt` as the text to change (also used from results and history).

    `params`: the parameters of the job being edited; the redraw keeps them (with a new seed) instead of
    taking the user's current settings.
    """
    await state.set_data({"answers": {}, "prompt": prompt} | ({"base_params": params} if params else {}))
    await state.set_state(Constructor.editing)
    await message.answer(f"Current prompt:\n\n{prompt}\n\nSend the edited prompt.")


async def record_answer(message: Message, state: FSMContext, step: Step, text: str) -> None:
    answer = clean_answer(step, text)
    data = await state.get_data()
    answers = {**data.get("answers", {}), step.name: answer}
    await state.update_data(answers=answers)
    following = next_step(step.name)
    if following is not None:
        await ask(message, state, following)
    else:
        await show_review(message, state, compose_prompt(answers))


async def new_dialog(message: Message, state: FSMContext) -> None:
    await state.set_data({"answers": {}})
    await ask(message, state, STEPS[0])


async def answer_text(message: Message, state: FSMContext) -> None:
    current = await state.get_state()
    await record_answer(message, state, step_named(STATE_STEPS[current]), message.text or "")


async def answer_hint(query: CallbackQuery, callback_data: HintCB, state: FSMContext) -> None:
    current = await state.get_state()
    if current is None or STATE_STEPS.get(current) != callback_data.step:
        raise StaleButton("That button belongs to a step that is over. Answer the current question, or /new.")
    message = button_message(query)
    step = step_named(callback_data.step)
    if callback_data.index >= len(step.hints):
        raise StaleButton("That button is not one of this step's choices.")
    await query.answer()
    await record_answer(message, state, step, step.hints[callback_data.index].value)


async def edited_prompt(message: Message, state: FSMContext) -> None:
    await show_review(message, state, check_prompt(message.text or ""))


async def text_in_review(message: Message) -> None:
    await message.answer("Press 🎨 Generate or ✏️ Edit prompt above, or /cancel.")


async def review_action(
    query: CallbackQuery, callback_data: ReviewCB, state: FSMContext, bot: Bot, generations: Generations
) -> None:
    data = await state.get_data()
    if await state.get_state() != Constructor.review.state or "prompt" not in data:
        raise StaleButton("That prompt is no longer open. Start again with /new.")
    message = button_message(query)
    await query.answer()
    if callback_data.action == "edit":
        await start_editing(message, state, data["prompt"], data.get("base_params"))
    elif callback_data.action == "restart":
        await new_dialog(message, state)
    else:
        prompt = check_prompt(data["prompt"])
        if "base_params" in data:
            params = generations.params_like(data["base_params"], prompt)
        else:
            params = await generations.params_for(query.from_user.id, prompt)
        await generations.submit(bot, message.chat.id, query.from_user.id, params)
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
