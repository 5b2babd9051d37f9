"""/history: the user's earlier jobs from the API, a page at a time; open one to edit its prompt and redraw.

The API pages by cursor (`next_cursor`, up to 200 characters), more than a button's 64 bytes hold, so the
cursors of the pages shown live in the user's FSM data and the buttons carry page numbers only.
"""

from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InputMediaPhoto, Message

from bot.api_client import ApiClient
from bot.errors import StaleButton
from bot.generation import requester_id
from bot.handlers.constructor import start_editing
from bot.jobs import BotJobRepository
from bot.keyboards import HistoryCB, OpenJobCB, history_keyboard
from services.storage.s3 import ObjectStore


def image_line(item: dict[str, Any]) -> str:
    """Each image's mean rating (and count), and the user's own score."""
    parts = []
    for number, image in enumerate(item.get("images", []), start=1):
        rating = image.get("rating")
        text = f"#{number} " + (f"{rating['mean']:.1f}★ ({rating['count']})" if rating else "unrated")
        if image.get("user_score"):
            text += f", you {image['user_score']}★"
        parts.append(text)
    return " · ".join(parts) or item.get("status", "")


async def thumbnails(items: list[dict], jobs: BotJobRepository, store: ObjectStore) -> list[BufferedInputFile]:
    """The first image of each job this bot delivered (the bot keeps their S3 keys), numbered as listed."""
    files = []
    for number, item in enumerate(items, start=1):
        job = await jobs.get(item["job_id"])
        shown = [image for image in (job or {}).get("images", []) if not image.get("nsfw")]
        if shown:
            stored = await store.get(shown[0]["key"])
            files.append(BufferedInputFile(stored.body, filename=f"{number}.png"))
    return files


async def show_page(message: Message, bot: Bot, user_id: int, page: int, state: FSMContext, **deps: Any) -> None:
    api: ApiClient = deps["api"]
    size = deps["bot_settings"].history_page_size
    cursors: list[str | None] = (await state.get_data()).get("history_cursors", [None])
    if page >= len(cursors):
        raise StaleButton("That page is gone; open /history again.")
    params: dict[str, Any] = {"limit": size} | ({"before": cursors[page]} if cursors[page] else {})
    user = requester_id(user_id)
    body = await api.request("GET", f"/users/{user}/history", user_id=user, params=params)
    items = body.get("items", [])
    if not items:
        await message.answer("No logos yet. Send a prompt or try /new." if page == 0 else "No older logos.")
        return
    has_next = bool(body.get("next_cursor"))
    await state.update_data(history_cursors=cursors[: page + 1] + ([body["next_cursor"]] if has_next else []))
    files = await thumbnails(items, deps["jobs"], deps["store"])
    if len(files) == 1:
        await bot.send_photo(message.chat.id, files[0])
    elif files:
        await bot.send_media_group(message.chat.id, [InputMediaPhoto(media=file) for file in files])
    first = page * size + 1
    lines = [f"Your logos, page {page + 1}:"]
    for number, item in enumerate(items, start=first):
        lines.append(f"\n{number}. {item['prompt'][:200]}\n   {image_line(item)}")
    lines.append("\n✏️ n: edit that prompt and draw again.")
    await message.answer(
        "\n".join(lines),
        reply_markup=history_keyboard(page, [item["job_id"] for item in items], has_next, first),
    )


async def history(message: Message, bot: Bot, state: FSMContext, **deps: Any) -> None:
    await state.update_data(history_cursors=[None])
    await show_page(message, bot, message.from_user.id, 0, state, **deps)


async def history_page(
    query: CallbackQuery, callback_data: HistoryCB, bot: Bot, state: FSMContext, **deps: Any
) -> None:
    await query.answer()
    await show_page(query.message, bot, query.from_user.id, callback_data.page, state, **deps)


async def open_job(query: CallbackQuery, callback_data: OpenJobCB, state: FSMContext, jobs: BotJobRepository) -> None:
    job = await jobs.owned(callback_data.job, query.from_user.id)
    await query.answer()
    await start_editing(query.message, state, job["params"]["prompt"])


def make_router() -> Router:
    """The history feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="history")
    router.message.register(history, Command("history"))
    router.callback_query.register(history_page, HistoryCB.filter())
    router.callback_query.register(open_job, OpenJobCB.filter())
    return router
