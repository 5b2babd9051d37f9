"""/history: the user's earlier jobs from the API, a page at a time; open one to edit its prompt and redraw."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.api_client import ApiClient
from bot.generation import requester_id
from bot.handlers.constructor import start_editing
from bot.keyboards import HistoryCB, OpenJobCB, history_keyboard
from bot.settings import BotSettings


async def show_page(
    message: Message, user_id: int, page: int, api: ApiClient, bot_settings: BotSettings
) -> None:
    size = bot_settings.history_page_size
    body = await api.request(
        "GET",
        f"/users/{requester_id(user_id)}/history",
        user_id=requester_id(user_id),
        params={"offset": page * size, "limit": size},
    )
    items = body.get("items", [])
    if not items:
        await message.answer("No logos yet. Send a prompt or try /new." if page == 0 else "No older logos.")
        return
    lines = [f"Your logos, page {page + 1}:"]
    for number, item in enumerate(items, start=page * size + 1):
        lines.append(f"\n{number}. {item['prompt'][:200]}\n   {item_ratings(item)}")
    has_next = bool(body.get("has_more", len(items) == size))
    await message.answer(
        "\n".join(lines),
        reply_markup=history_keyboard(page, [item["job_id"] for item in items], has_next, page * size + 1),
    )


def item_ratings(item: dict) -> str:
    parts = []
    for image in item.get("images", []):
        mean = image.get("mean")
        parts.append(
            f"#{image['index'] + 1}: " + (f"{mean:.1f}★ ({image.get('count', 0)})" if mean else "unrated")
        )
    return ", ".join(parts) or "no images"


async def history(message: Message, api: ApiClient, bot_settings: BotSettings) -> None:
    await show_page(message, message.from_user.id, 0, api, bot_settings)


async def history_page(
    query: CallbackQuery, callback_data: HistoryCB, api: ApiClient, bot_settings: BotSettings
) -> None:
    await query.answer()
    await show_page(query.message, query.from_user.id, callback_data.page, api, bot_settings)


async def open_job(query: CallbackQuery, callback_data: OpenJobCB, state: FSMContext, api: ApiClient) -> None:
    user = requester_id(query.from_user.id)
    job = await api.request("GET", f"/jobs/{callback_data.job}", user_id=user)
    await query.answer()
    await start_editing(query.message, state, job["params"]["prompt"])


def make_router() -> Router:
    """The history feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="history")
    router.message.register(history, Command("history"))
    router.callback_query.register(history_page, HistoryCB.filter())
    router.callback_query.register(open_job, OpenJobCB.filter())
    return router
