"""/best: the best-rated logos from the API, everyone's or the user's own."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.api_client import ApiClient
from bot.generation import requester_id
from bot.keyboards import BestCB, best_keyboard


async def show_best(message: Message, user_id: int, scope: str, api: ApiClient) -> None:
    user = requester_id(user_id)
    params = {"limit": 10} | ({"user_id": user} if scope == "mine" else {})
    body = await api.request("GET", "/images/best", user_id=user, params=params)
    items = body.get("items", [])
    title = "Your best logos" if scope == "mine" else "Everyone's best logos"
    if not items:
        await message.answer(f"{title}: none rated yet.", reply_markup=best_keyboard())
        return
    lines = [f"{title}:"]
    for number, item in enumerate(items, start=1):
        lines.append(
            f"{number}. {item.get('mean', 0):.1f}★ ({item.get('count', 0)}) {item.get('prompt', '')[:150]}"
        )
    await message.answer("\n".join(lines), reply_markup=best_keyboard())


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
