"""/best: the best-rated logos from the API (`GET /images/best`), everyone's or the user's own, as pictures."""

from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.api_client import ApiClient
from bot.gallery import ALBUM_LIMIT, Picture, send_pictures
from bot.generation import requester_id
from bot.keyboards import BestCB, best_keyboard
from bot.updates import button_message, sender_id

TITLES = {"all": "Everyone's best logos", "mine": "Your best logos"}


def score_text(rating: dict[str, Any]) -> str:
    """Mean and count as users read them, and the confidence-aware score the list is ranked by."""
    count = rating["count"]
    return f"{rating['mean']:.1f}★ from {count} rating{'s' if count != 1 else ''} · score {rating['score']:.2f}"


def best_pictures(images: list[dict[str, Any]]) -> list[Picture]:
    return [
        Picture(image["url"], f"{number}. {score_text(image['rating'])}\n{image['prompt']}")
        for number, image in enumerate(images, start=1)
    ]


def best_text(scope: str, images: list[dict[str, Any]]) -> str:
    if not images:
        return f"{TITLES[scope]}: none rated yet."
    lines = [f"{TITLES[scope]} (ranked by score: many good ratings beat one perfect one):"]
    lines += [
        f"{number}. {score_text(image['rating'])} · {image['prompt'][:100]}"
        for number, image in enumerate(images, start=1)
    ]
    return "\n".join(lines)


async def show_best(message: Message, bot: Bot, user_id: int, scope: str, api: ApiClient) -> None:
    user = requester_id(user_id)
    params = {"limit": ALBUM_LIMIT} | ({"user_id": user} if scope == "mine" else {})
    images = await api.request("GET", "/images/best", user_id=user, params=params)
    await send_pictures(bot, message.chat.id, api, best_pictures(images))
    await message.answer(best_text(scope, images), reply_markup=best_keyboard())


async def best(message: Message, bot: Bot, api: ApiClient) -> None:
    await show_best(message, bot, sender_id(message), "all", api)


async def best_scope(query: CallbackQuery, callback_data: BestCB, bot: Bot, api: ApiClient) -> None:
    message = button_message(query)
    await query.answer()
    await show_best(message, bot, query.from_user.id, callback_data.scope, api)


def make_router() -> Router:
    """The best feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="best")
    router.message.register(best, Command("best"))
    router.callback_query.register(best_scope, BestCB.filter())
    return router
