"""/history: the user's earlier jobs from the API, a page at a time; open one to edit its prompt and redraw.

The API pages by cursor (`next_cursor`, up to 200 characters), more than a button's 64 bytes hold, so the
cursors of the pages shown live in the user's FSM data and the buttons carry page numbers only.
"""

from datetime import datetime
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram_i18n import I18nContext

from bot.api_client import ApiClient
from bot.errors import StaleButton
from bot.gallery import ALBUM_LIMIT, Picture, send_pictures
from bot.generation import requester_id
from bot.handlers.constructor import start_editing
from bot.i18n import Translate
from bot.keyboards import HistoryCB, OpenJobCB, history_keyboard
from bot.settings import BotSettings
from bot.updates import button_message, sender_id


def rating_text(t: Translate, image: dict[str, Any]) -> str:
    """An image's mean rating and count, and the user's own score."""
    rating = image.get("rating")
    text = t("rating-short", mean=rating["mean"], count=rating["count"]) if rating else t("unrated")
    if image.get("user_score"):
        text += f", {t('rating-yours', score=image['user_score'])}"
    return text


def image_line(t: Translate, item: dict[str, Any]) -> str:
    """When the job was made, every image of it with its ratings (or the job's status while it has none); a
    scheduler other than the model's own is named."""
    parts = [f"#{number} {rating_text(t, image)}" for number, image in enumerate(item.get("images", []), start=1)]
    line = " · ".join(parts) or t("job-status", status=item.get("status", ""))
    scheduler = item.get("params", {}).get("scheduler", "default")
    if scheduler != "default":
        line += f" · {scheduler}"
    parent = item.get("params", {}).get("variation_of")
    if parent:  # the family: which logo this one varies
        job_id, _, index = parent.rpartition("-")
        line += f" · {t('history-variation', image=f'{job_id[:8]} #{int(index) + 1}')}"
    if item.get("created_at"):
        line = f"{t('history-when', created=datetime.fromisoformat(item['created_at']))} · {line}"
    return line


def page_pictures(t: Translate, items: list[dict[str, Any]], first: int) -> list[Picture]:
    """Thumbnails of a page: each item's first images, as many as fit one album for every item."""
    per_item = max(1, ALBUM_LIMIT // max(1, len(items)))
    pictures = []
    for number, item in enumerate(items, start=first):
        shown = [(index, image) for index, image in enumerate(item.get("images", []), start=1) if not image["nsfw"]]
        for index, image in shown[:per_item]:
            caption = f"{number}. #{index} · {rating_text(t, image)}\n{item['prompt'][:200]}"
            pictures.append(Picture(image["url"], caption))
    return pictures


async def show_page(
    message: Message, bot: Bot, user_id: int, page: int, state: FSMContext, api: ApiClient, size: int, t: Translate
) -> None:
    cursors: list[str | None] = (await state.get_data()).get("history_cursors", [None])
    if page >= len(cursors):
        raise StaleButton("error-page-gone")
    params: dict[str, Any] = {"limit": size} | ({"before": cursors[page]} if cursors[page] else {})
    user = requester_id(user_id)
    body = await api.request("GET", f"/users/{user}/history", user_id=user, params=params)
    items = body["items"]
    if not items:
        await message.answer(t("history-empty" if page == 0 else "history-no-older"))
        return
    next_cursor = body.get("next_cursor")
    await state.update_data(history_cursors=cursors[: page + 1] + ([next_cursor] if next_cursor else []))
    first = page * size + 1
    await send_pictures(bot, message.chat.id, api, page_pictures(t, items, first))
    lines = [t("history-title", page=page + 1)]
    for number, item in enumerate(items, start=first):
        lines.append(f"\n{number}. {item['prompt'][:200]}\n   {image_line(t, item)}")
    lines.append(f"\n{t('history-edit-hint')}")
    await message.answer(
        "\n".join(lines),
        reply_markup=history_keyboard(t, page, [item["job_id"] for item in items], bool(next_cursor), first),
    )


async def history(
    message: Message, bot: Bot, state: FSMContext, api: ApiClient, bot_settings: BotSettings, i18n: I18nContext
) -> None:
    await state.update_data(history_cursors=[None])
    await show_page(message, bot, sender_id(message), 0, state, api, bot_settings.history_page_size, i18n)


async def history_page(
    query: CallbackQuery,
    callback_data: HistoryCB,
    bot: Bot,
    state: FSMContext,
    api: ApiClient,
    bot_settings: BotSettings,
    i18n: I18nContext,
) -> None:
    message = button_message(query)
    await query.answer()
    await show_page(
        message, bot, query.from_user.id, callback_data.page, state, api, bot_settings.history_page_size, i18n
    )


async def open_job(
    query: CallbackQuery, callback_data: OpenJobCB, state: FSMContext, api: ApiClient, i18n: I18nContext
) -> None:
    """Edit a history item's prompt; the redraw keeps its other parameters (a new seed), like the API's regenerate."""
    message = button_message(query)
    user = requester_id(query.from_user.id)
    job = await api.request("GET", f"/jobs/{callback_data.job}", user_id=user)  # the API checks it is the user's
    await query.answer()
    await start_editing(message, state, job["params"]["prompt"], i18n, job["params"])


def make_router() -> Router:
    """The history feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="history")
    router.message.register(history, Command("history"))
    router.callback_query.register(history_page, HistoryCB.filter())
    router.callback_query.register(open_job, OpenJobCB.filter())
    return router
