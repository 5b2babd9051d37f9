"""Admin commands, for the configured Telegram user ids only: /stats, /retrain, /promote."""

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.admin_tools import AdminTools, Stats
from bot.api_client import ApiClient
from bot.errors import NotAllowed, SettingsError
from bot.generation import requester_id
from bot.settings import BotSettings

logger = logging.getLogger(__name__)


def require_admin(message: Message, bot_settings: BotSettings) -> int:
    """The sender's Telegram id if they are an admin; NotAllowed otherwise (also for a message from no user)."""
    if message.from_user is None or message.from_user.id not in bot_settings.admin_ids:
        raise NotAllowed("Sorry, this command is for admins only.")
    return message.from_user.id


def stats_text(stats: Stats) -> str:
    lines = ["Queues (ready · consumers · dead letters):"]
    if stats.queues is None:
        lines.append("  RabbitMQ did not answer")
    else:
        lines += [f"  {q.name}: {q.messages} · {q.consumers} · {q.dead_letters}" for q in stats.queues]
    lines.append("Jobs: " + ", ".join(f"{status} {count}" for status, count in stats.jobs.items()))
    lines.append(f"Ratings: {stats.ratings} of {stats.rated_images} images")
    lines.append(f"Adapter in service: {stats.adapter or 'none (base model)'}")
    return "\n".join(lines)


async def stats(message: Message, bot_settings: BotSettings, admin: AdminTools) -> None:
    require_admin(message, bot_settings)
    await message.answer(stats_text(await admin.stats()))


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


async def promote(message: Message, command: CommandObject, bot_settings: BotSettings, admin: AdminTools) -> None:
    admin_id = require_admin(message, bot_settings)
    version = (command.args or "").strip()
    if not version or len(version) > 64 or " " in version:
        raise SettingsError("Usage: /promote <adapter version>, or /promote base for the base model.")
    event = await admin.promote(version)
    logger.info("admin %s promoted %s", admin_id, event.version or "the base model")
    await message.answer(
        f"🚀 In service: {event.version or 'the base model'} (before: {event.previous_version or 'the base model'}). "
        "Generators load it between jobs."
    )


def make_router() -> Router:
    """The admin feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="admin")
    router.message.register(stats, Command("stats"))
    router.message.register(retrain, Command("retrain"))
    router.message.register(promote, Command("promote"))
    return router
