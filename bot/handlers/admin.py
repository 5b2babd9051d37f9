"""Admin commands, for the configured Telegram user ids only: /stats, /retrain, /promote.

Each goes through the HTTP API's admin endpoints with the bot's admin key, acting for the admin.
"""

import logging
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.api_client import ApiClient
from bot.errors import ApiRefused, NotAllowed, SettingsError, StaleButton
from bot.generation import requester_id
from bot.settings import BotSettings

logger = logging.getLogger(__name__)


def require_admin(message: Message, bot_settings: BotSettings) -> int:
    """The sender's Telegram id if they are an admin; NotAllowed otherwise (also for a message from no user)."""
    if message.from_user is None or message.from_user.id not in bot_settings.admin_ids:
        raise NotAllowed("Sorry, this command is for admins only.")
    return message.from_user.id


def stats_text(stats: dict[str, Any]) -> str:
    """The API's `GET /admin/stats` answer as a message."""
    lines = ["Queues (ready · consumers · dead letters):"]
    if stats.get("queues") is None:
        lines.append("  RabbitMQ did not answer")
    else:
        lines += [f"  {q['name']}: {q['messages']} · {q['consumers']} · {q['dead_letters']}" for q in stats["queues"]]
    lines.append("Jobs: " + ", ".join(f"{status} {count}" for status, count in stats["jobs"].items()))
    lines.append(f"Ratings: {stats['ratings']} of {stats['rated_images']} images")
    lines.append(f"Adapter in service: {stats['adapter'] or 'none (base model)'}")
    return "\n".join(lines)


async def stats(message: Message, bot_settings: BotSettings, api: ApiClient) -> None:
    admin_id = require_admin(message, bot_settings)
    answer = await api.request("GET", "/admin/stats", user_id=requester_id(admin_id), admin=True)
    await message.answer(stats_text(answer))


async def retrain(message: Message, bot_settings: BotSettings, api: ApiClient) -> None:
    """Through the API's POST /admin/retrain, so the ratings service's image selection decides what is trained."""
    admin_id = require_admin(message, bot_settings)
    run = await api.request("POST", "/admin/retrain", user_id=requester_id(admin_id), admin=True)
    logger.info("admin %s started training run %s", admin_id, run["run_id"])
    images = len(run["image_ids"])
    datasets = f" and datasets {', '.join(run['datasets'])}" if run["datasets"] else ""
    await message.answer(
        f"🏋️ Training run {run['run_id']} queued with {images} image{'s' if images != 1 else ''}{datasets}."
    )


async def promote(message: Message, command: CommandObject, bot_settings: BotSettings, api: ApiClient) -> None:
    """Through the API's POST /admin/adapters/promote: the registry's compare-and-set, then AdapterPromoted."""
    admin_id = require_admin(message, bot_settings)
    version = (command.args or "").strip()
    if not version or len(version) > 64 or " " in version:
        raise SettingsError("Usage: /promote <adapter version>, or /promote base for the base model.")
    try:
        changed = await api.request(
            "POST", "/admin/adapters/promote", user_id=requester_id(admin_id), admin=True, json={"version": version}
        )
    except StaleButton as error:  # the API's 404: no such version
        raise ApiRefused(f"unknown adapter version {version!r}") from error
    in_service = changed["in_service"] or "the base model"
    logger.info("admin %s promoted %s", admin_id, in_service)
    await message.answer(
        f"🚀 In service: {in_service} (before: {changed['previous'] or 'the base model'}). "
        "Generators load it between jobs."
    )


def make_router() -> Router:
    """The admin feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="admin")
    router.message.register(stats, Command("stats"))
    router.message.register(retrain, Command("retrain"))
    router.message.register(promote, Command("promote"))
    return router
