"""Admin commands, for the configured Telegram user ids only: /stats, /retrain, /promote.

Each goes through the HTTP API's admin endpoints with the bot's admin key, acting for the admin.
"""

import logging
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram_i18n import I18nContext

from bot.api_client import ApiClient
from bot.errors import NotAllowed, SettingsError, StaleButton, UserError
from bot.generation import requester_id
from bot.i18n import Translate
from bot.settings import BotSettings

logger = logging.getLogger(__name__)


def require_admin(message: Message, bot_settings: BotSettings) -> int:
    """The sender's Telegram id if they are an admin; NotAllowed otherwise (also for a message from no user)."""
    if message.from_user is None or message.from_user.id not in bot_settings.admin_ids:
        raise NotAllowed("error-admins-only")
    return message.from_user.id


def stats_text(t: Translate, stats: dict[str, Any]) -> str:
    """The API's `GET /admin/stats` answer as a message."""
    lines = [t("stats-queues")]
    if stats.get("queues") is None:
        lines.append(f"  {t('stats-broker-silent')}")
    else:
        lines += [f"  {q['name']}: {q['messages']} · {q['consumers']} · {q['dead_letters']}" for q in stats["queues"]]
    counts = ", ".join(t("stats-job-count", status=status, count=count) for status, count in stats["jobs"].items())
    lines.append(t("stats-jobs", counts=counts))
    lines.append(t("stats-ratings", ratings=stats["ratings"], images=stats["rated_images"]))
    lines.append(t("stats-adapter", adapter=stats["adapter"] or t("base-model")))
    return "\n".join(lines)


async def stats(message: Message, bot_settings: BotSettings, api: ApiClient, i18n: I18nContext) -> None:
    admin_id = require_admin(message, bot_settings)
    answer = await api.request("GET", "/admin/stats", user_id=requester_id(admin_id), admin=True)
    await message.answer(stats_text(i18n, answer))


async def retrain(message: Message, bot_settings: BotSettings, api: ApiClient, i18n: I18nContext) -> None:
    """Through the API's POST /admin/retrain, so the ratings service's image selection decides what is trained."""
    admin_id = require_admin(message, bot_settings)
    run = await api.request("POST", "/admin/retrain", user_id=requester_id(admin_id), admin=True)
    logger.info("admin %s started training run %s", admin_id, run["run_id"])
    images = len(run["image_ids"])
    if run["datasets"]:
        text = i18n("retrain-queued-datasets", run=run["run_id"], images=images, datasets=", ".join(run["datasets"]))
    else:
        text = i18n("retrain-queued", run=run["run_id"], images=images)
    await message.answer(text)


async def promote(
    message: Message, command: CommandObject, bot_settings: BotSettings, api: ApiClient, i18n: I18nContext
) -> None:
    """Through the API's POST /admin/adapters/promote: the registry's compare-and-set, then AdapterPromoted."""
    admin_id = require_admin(message, bot_settings)
    version = (command.args or "").strip()
    if not version or len(version) > 64 or " " in version:
        raise SettingsError("error-promote-usage")
    try:
        changed = await api.request(
            "POST", "/admin/adapters/promote", user_id=requester_id(admin_id), admin=True, json={"version": version}
        )
    except StaleButton as error:  # the API's 404: no such version
        raise UserError("error-unknown-adapter", version=version) from error
    logger.info("admin %s promoted %s", admin_id, changed["in_service"] or "the base model")
    await message.answer(
        i18n(
            "promoted",
            adapter=changed["in_service"] or i18n("base-model"),
            previous=changed["previous"] or i18n("base-model"),
        )
    )


def make_router() -> Router:
    """The admin feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="admin")
    router.message.register(stats, Command("stats"))
    router.message.register(retrain, Command("retrain"))
    router.message.register(promote, Command("promote"))
    return router
