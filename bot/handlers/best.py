"""/best: the best-rated logos from the API (`GET /images/best`), everyone's or the user's own, as pictures."""

from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram_i18n import I18nContext

from bot.api_client import ApiClient
from bot.gallery import ALBUM_LIMIT, Picture, send_pictures
from bot.generation import requester_id
from bot.i18n import Translate
from bot.keyboards import BestCB, best_keyboard
from bot.updates import button_message, sender_id


def score_text(t: Translate, rating: dict[str, Any]) -> str:
    """Mean and count as users read them, and the confidence-aware score the list is ranked by."""
    return t("score", mean=rating["mean"], count=rating["count"], score=rating["score"])


def best_pictures(t: Translate, images: list[dict[str, Any]]) -> list[Picture]:
    return [
        Picture(image["url"], f"{number}. {score_text(t, image['rating'])}\n{image['prompt']}")
        for number, image in enumerate(images, start=1)
    ]


def best_text(t: Translate, scope: str, images: list[dict[str, Any]]) -> str:
    title = t(f"best-{scope}")
    if not images:
        return t("best-none", title=title)
    lines = [t("best-ranked", title=title)]
    lines += [
        f"{number}. {score_text(t, image['rating'])} · {image['prompt'][:100]}"
        for number, image in enumerate(images, start=1)
    ]
    return "\n".join(lines)


async def show_best(message: Message, bot: Bot, user_id: int, scope: str, api: ApiClient, t: Translate) -> None:
    user = requester_id(user_id)
    params = {"limit": ALBUM_LIMIT} | ({"user_id": user} if scope == "mine" else {})
    images = await api.request("GET", "/images/best", user_id=user, params=params)
    await send_pictures(bot, message.chat.id, api, best_pictures(t, images))
    await message.answer(best_text(t, scope, images), reply_markup=best_keyboard(t))


async def best(message: Message, bot: Bot, api: ApiClient, i18n: I18nContext) -> None:
    await show_best(message, bot, sender_id(message), "all", api, i18n)


async def best_scope(query: CallbackQuery, callback_data: BestCB, bot: Bot, api: ApiClient, i18n: I18nContext) -> None:
    message = button_message(query)
    await query.answer()
    await show_best(message, bot, query.from_user.id, callback_data.scope, api, i18n)


def make_router() -> Router:
    """The best feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="best")
    router.message.register(best, Command("best"))
    router.callback_query.register(best_scope, BestCB.filter())
    return router
