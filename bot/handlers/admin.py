"""Admin commands, for the configured Telegram user ids only: /stats, /retrain, /promote."""

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from faststream.rabbit import RabbitBroker

from bot.api_client import ApiClient
from bot.errors import NotAllowed, SettingsError
from bot.generation import requester_id
from bot.jobs import BotJobRepository
from bot.settings import BotSettings
from schemas.topology import COMMAND_QUEUES
from schemas.training import PromoteAdapter
from services.messaging import publish

logger = logging.getLogger(__name__)


def require_admin(message: Message, bot_settings: BotSettings) -> None:
    if message.from_user is None or message.from_user.id not in bot_settings.admin_ids:
        raise NotAllowed("Sorry, this command is for admins only.")


async def queue_depths(broker: RabbitBroker) -> dict[str, int | None]:
    """Ready messages in each command queue and its dead-letter queue (a declare answers with the count)."""
    depths: dict[str, int | None] = {}
    for command_queue in COMMAND_QUEUES:
        for queue in (command_queue.queue, command_queue.dead_queue):
            try:
                declared = await (await broker.declare_queue(queue)).declare()
                depths[queue.name] = declared.message_count
            except Exception:
                logger.warning("could not read the depth of %s", queue.name, exc_info=True)
                depths[queue.name] = None
    return depths


async def stats(message: Message, bot_settings: BotSettings, broker: RabbitBroker, jobs: BotJobRepository) -> None:
    require_admin(message, bot_settings)
    depths = await queue_depths(broker)
    counts = await jobs.status_counts()
    lines = ["Queues (ready messages):"]
    lines += [f"  {name}: {'?' if depth is None else depth}" for name, depth in depths.items()]
    lines.append("Telegram jobs by status:")
    lines += [f"  {status}: {count}" for status, count in sorted(counts.items())] or ["  none yet"]
    await message.answer("\n".join(lines))


async def retrain(message: Message, bot_settings: BotSettings, api: ApiClient) -> None:
    """Start a run now, as `POST /admin/retrain` does: the API records it (claiming its images) and sends it."""
    require_admin(message, bot_settings)
    run = await api.request("POST", "/admin/retrain", user_id=requester_id(message.from_user.id), admin=True)
    logger.info("admin %s started training run %s", message.from_user.id, run["run_id"])
    datasets = f", datasets {', '.join(run['datasets'])}" if run["datasets"] else ""
    await message.answer(f"🏋️ Training run {run['run_id']} queued: {len(run['image_ids'])} image(s){datasets}.")


async def promote(message: Message, command: CommandObject, bot_settings: BotSettings, broker: RabbitBroker) -> None:
    require_admin(message, bot_settings)
    version = (command.args or "").strip()
    if not version or len(version) > 64 or " " in version:
        raise SettingsError("Usage: /promote <adapter version>, or /promote none for the base model.")
    target = None if version in ("base", "none") else version  # "none", as in `ops promote none`
    await publish(broker, PromoteAdapter(correlation_id=version, version=target, reason="manual"))
    await message.answer(f"🚀 Promotion of {version} requested.")


def make_router() -> Router:
    """The admin feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="admin")
    router.message.register(stats, Command("stats"))
    router.message.register(retrain, Command("retrain"))
    router.message.register(promote, Command("promote"))
    return router
