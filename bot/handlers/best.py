"""/best: the best-rated logos from the API (`GET /images/best`), everyone's or the user's own."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.api_client import ApiClient
from bot.generation import requester_id
from bot.keyboards import BestCB, best_keyboard

BEST_COUNT = 10


def best_text(title: str, images: list[dict]) -> str:
    if not images:
        return f"{title}: none rated yet."
    lines = [f"{title}:"]
    for number, image in enumerate(images, start=1):
        rating = image["rating"]
        lines.append(f"{number}. {rating['mean']:.1f}★ ({rating['count']}) {image['prompt'][:150]}")
    return "\n".join(lines)


async def show_best(message: Message, user_id: int, scope: str, api: ApiClient) -> None:
    user = requester_id(user_id)
    params = {"limit": BEST_COUNT} | ({"user_id": user} if scope == "mine" else {})
    images = await api.request("GET", "/images/best", user_id=user, params=params)
    title = "Your best logos" if scope == "mine" else "Everyone's best logos"
    await message.answer(best_text(title, images), reply_markup=best_keyboard())


async def best(message: Message, api: ApiClient) -> None:
    await show_best(message, message.from_user.id, "all", api)


async def best_scope(query: CallbackQuery, callback_data: BestCB, api: ApiClient) -> None:
    await query.answer()
    await show_best(query.message, query.from_user.id, callback_data.scope, api)


def make_router() -> Router:
    """The best feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="best")
    router.message.register(best, Command("best"))
    router.callback_query.register(best_scope, BestCB.filter())
    return router
