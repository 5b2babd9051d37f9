"""/history: the user's earlier jobs from the API, a page at a time; open one to edit its prompt and redraw.

The API pages by cursor (`next_cursor`, up to 200 characters), more than a button's 64 bytes hold, so the
cursors of the pages shown live in the user's FSM data and the buttons carry page numbers only.
"""

from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.api_client import ApiClient
from bot.errors import StaleButton
from bot.gallery import ALBUM_LIMIT, Picture, send_pictures
from bot.generation import requester_id
from bot.handlers.constructor import start_editing
from bot.keyboards import HistoryCB, OpenJobCB, history_keyboard
from bot.settings import BotSettings
from bot.updates import button_message, sender_id


def rating_text(image: dict[str, Any]) -> str:
    """An image's mean rating and count, and the user's own score."""
    rating = image.get("rating")
    text = f"{rating['mean']:.1f}★ ({rating['count']})" if rating else "unrated"
    if image.get("user_score"):
        text += f", you {image['user_score']}★"
    return text


def image_line(item: dict[str, Any]) -> str:
    """Every image of a history item with its ratings, or the job's status while it has none; a scheduler other
    than the model's own is named."""
    parts = [f"#{number} {rating_text(image)}" for number, image in enumerate(item.get("images", []), start=1)]
    line = " · ".join(parts) or item.get("status", "")
    scheduler = item.get("params", {}).get("scheduler", "default")
    return line if scheduler == "default" else f"{line} · {scheduler}"


def page_pictures(items: list[dict[str, Any]], first: int) -> list[Picture]:
    """Thumbnails of a page: each item's first images, as many as fit one album for every item."""
    per_item = max(1, ALBUM_LIMIT // max(1, len(items)))
    pictures = []
    for number, item in enumerate(items, start=first):
        shown = [(index, image) for index, image in enumerate(item.get("images", []), start=1) if not image["nsfw"]]
        for index, image in shown[:per_item]:
            caption = f"{number}. #{index} · {rating_text(image)}\n{item['prompt'][:200]}"
            pictures.append(Picture(image["url"], caption))
    return pictures


async def show_page(
    message: Message, bot: Bot, user_id: int, page: int, state: FSMContext, api: ApiClient, size: int
) -> None:
    cursors: list[str | None] = (await state.get_data()).get("history_cursors", [None])
    if page >= len(cursors):
        raise StaleButton("That page is gone; open /history again.")
    params: dict[str, Any] = {"limit": size} | ({"before": cursors[page]} if cursors[page] else {})
    user = requester_id(user_id)
    body = await api.request("GET", f"/users/{user}/history", user_id=user, params=params)
    items = body["items"]
    if not items:
        await message.answer("No logos yet. Send a prompt or try /new." if page == 0 else "No older logos.")
        return
    next_cursor = body.get("next_cursor")
    await state.update_data(history_cursors=cursors[: page + 1] + ([next_cursor] if next_cursor else []))
    first = page * size + 1
    await send_pictures(bot, message.chat.id, api, page_pictures(items, first))
    lines = [f"Your logos, page {page + 1}:"]
    for number, item in enumerate(items, start=first):
        lines.append(f"\n{number}. {item['prompt'][:200]}\n   {image_line(item)}")
    lines.append("\n✏️ n: edit that prompt and draw again.")
    await message.answer(
        "\n".join(lines),
        reply_markup=history_keyboard(page, [item["job_id"] for item in items], bool(next_cursor), first),
    )


async def history(message: Message, bot: Bot, state: FSMContext, api: ApiClient, bot_settings: BotSettings) -> None:
    await state.update_data(history_cursors=[None])
    await show_page(message, bot, sender_id(message), 0, state, api, bot_settings.history_page_size)


async def history_page(
    query: CallbackQuery,
    callback_data: HistoryCB,
    bot: Bot,
    state: FSMContext,
    api: ApiClient,
    bot_settings: BotSettings,
) -> None:
    message = button_message(query)
    await query.answer()
    await show_page(
        message, bot, query.from_user.id, callback_data.page, state, api, bot_settings.history_page_size
    )


async def open_job(query: CallbackQuery, callback_data: OpenJobCB, state: FSMContext, api: ApiClient) -> None:
    """Edit a history item's prompt; the redraw keeps its other parameters (a new seed), like the API's regenerate."""
    message = button_message(query)
    user = requester_id(query.from_user.id)
    job = await api.request("GET", f"/jobs/{callback_data.job}", user_id=user)  # the API checks it is the user's
    await query.answer()
    await start_editing(message, state, job["params"]["prompt"], job["params"])


def make_router() -> Router:
    """The history feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="history")
    router.message.register(history, Command("history"))
    router.callback_query.register(history_page, HistoryCB.filter())
    router.callback_query.register(open_job, OpenJobCB.filter())
    return router
