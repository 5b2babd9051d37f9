"""Starting a generation from Telegram: check, record where the answer goes, then submit it to the HTTP API."""

import logging
from typing import Any

from aiogram import Bot
from faststream.rabbit import RabbitBroker, RabbitQueue
from pydantic import ValidationError

from bot.api_client import ApiClient
from bot.errors import RateLimited, ServiceUnavailable, UserError
from bot.i18n import Translate
from bot.jobs import BotJobRepository, BotJobStatus, RateLimiter
from bot.keyboards import cancel_keyboard
from bot.user_settings import UserSettingsRepository, explain
from schemas.base import new_id
from schemas.generation import GenerationParams, job_id_for
from schemas.topology import GENERATE

logger = logging.getLogger(__name__)

VARIATION_COUNT = 4


def requester_id(telegram_user_id: int) -> str:
    """The user id the rest of LogoForge knows a Telegram user by (jobs, ratings, history)."""
    return f"tg:{telegram_user_id}"


def queued_text(t: Translate, ahead: int | None) -> str:
    if ahead is None:
        return t("queued")
    if ahead == 0:
        return t("queued-next")
    return t("queued-ahead", count=ahead)


class Generations:
    """The one way the bot starts a job; every check happens before anything is sent or submitted."""

    def __init__(
        self,
        broker: RabbitBroker,
        jobs: BotJobRepository,
        user_settings: UserSettingsRepository,
        limiter: RateLimiter,
        api: ApiClient,
    ) -> None:
        self._broker = broker
        self._jobs = jobs
        self._api = api
        self._user_settings = user_settings
        self._limiter = limiter

    async def params_for(self, user_id: int, prompt: str, **overrides: Any) -> GenerationParams:
        """The user's settings applied to `prompt`; SettingsError names the field the generator would refuse."""
        settings = await self._user_settings.get(user_id)
        try:
            return settings.to_params(prompt, **overrides)
        except ValidationError as error:
            raise explain(error) from None

    @staticmethod
    def params_like(base: dict[str, Any], prompt: str) -> GenerationParams:
        """An earlier job's parameters with a new prompt and a new seed (what "draw it again" means)."""
        try:
            return GenerationParams(**{**base, "prompt": prompt, "seed": None})
        except ValidationError as error:
            raise explain(error) from None

    async def submit(self, bot: Bot, chat_id: int, user_id: int, params: GenerationParams, t: Translate) -> str:
        """Queue one job for this chat and return its id; the status message is edited as it progresses, in the
        language of `t` (aiogram-i18n's I18nContext, whose `locale` is recorded with the job)."""
        if not await self._limiter.allows(user_id):
            window = self._limiter.window_s
            raise RateLimited(
                "error-rate-limited", limit=self._limiter.limit, window=int(window) if window.is_integer() else window
            )
        # The bot's own submission id is the job's Idempotency-Key: the API names the job after it, so the job
        # id is known before the API answers, and a repeated submit returns the same job.
        submission_id = new_id()
        user = requester_id(user_id)
        job_id = job_id_for(user, submission_id)
        status = await bot.send_message(
            chat_id, queued_text(t, await self._queue_depth()), reply_markup=cancel_keyboard(t, job_id)
        )
        # Recorded before submitting, so an event can never arrive for a job the bot does not know.
        await self._jobs.record(job_id, user_id, chat_id, status.message_id, params, t.locale)
        try:
            accepted = await self._submit(user, params, submission_id)
        except UserError as error:
            logger.warning("submitting job %s failed: %s", job_id, error)
            await self._jobs.mark(job_id, BotJobStatus.FAILED, error=str(error))
            await bot.edit_message_text(text=t("queue-failed"), chat_id=chat_id, message_id=status.message_id)
            raise
        if accepted["job_id"] != job_id:  # the API names keyed jobs with schemas.generation.job_id_for
            logger.error("the API queued job %s as %s; its result will not be delivered", job_id, accepted["job_id"])
        logger.info("job %s queued for telegram user %s", job_id, user_id)
        return job_id

    async def _submit(self, user: str, params: GenerationParams, submission_id: str) -> dict[str, Any]:
        """`POST /jobs`, tried twice when the API did not answer: the same key cannot queue the job twice."""
        try:
            return await self._api.submit_job(user, params, submission_id)
        except ServiceUnavailable:
            logger.info("submission %s not answered; trying once more", submission_id)
            return await self._api.submit_job(user, params, submission_id)

    async def _queue_depth(self) -> int | None:
        """Jobs waiting in the generate queue (a passive declare answers with the count); None if unknown."""
        try:
            queue = await self._broker.declare_queue(RabbitQueue(GENERATE.name, declare=False))
            declared = await queue.declare()
        except Exception:  # the position is a courtesy; the job is queued without it
            logger.warning("could not read the generate queue's depth", exc_info=True)
            return None
        return declared.message_count
