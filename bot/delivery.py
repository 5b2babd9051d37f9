"""Delivery of generation events to Telegram: progress in one edited message, then the logos as an album."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InputMediaPhoto, MediaUnion
from aiogram_i18n.cores import FluentRuntimeCore

from bot.api_client import ApiClient
from bot.errors import ServiceUnavailable
from bot.generation import requester_id
from bot.i18n import DEFAULT_LANGUAGE, Texts, Translate
from bot.jobs import BotJobRepository, BotJobStatus
from bot.keyboards import cancel_keyboard, results_keyboard
from schemas.assets import LogoAssetsReady
from schemas.generation import (
    GenerationCancelled,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
    ImageRef,
    LogoGenerated,
)
from services.errors import RetryableError

logger = logging.getLogger(__name__)

CAPTION_LIMIT = 1024
FINISHED = (BotJobStatus.DELIVERING, BotJobStatus.DELIVERED, BotJobStatus.FAILED, BotJobStatus.CANCELLED)


def palette_text(t: Translate, palette: list[dict] | None) -> str:
    """A logo's dominant colours as a line: names, hex and shares."""
    if not palette:
        return ""
    colours = ", ".join(t("palette-colour", name=c["name"], hex=c["hex"], share=c["share"]) for c in palette[:5])
    return t("assets-palette", colours=colours)


def progress_text(t: Translate, step: int, total_steps: int, width: int = 10) -> str:
    filled = round(width * step / total_steps) if total_steps else width
    return t("progress", step=step, total=total_steps, bar="▓" * filled + "░" * (width - filled))


@asynccontextmanager
async def telegram_errors(what: str) -> AsyncIterator[None]:
    """Telegram down or flooding: retry the event later. A chat that blocked the bot: nothing to do."""
    try:
        yield
    except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as error:
        raise RetryableError(f"Telegram failed during {what}: {error}") from error


class Delivery:
    """Acts on the generation events of jobs this bot started (those in `bot_jobs`), and ignores all others.

    The images come through the HTTP API (`/static` with the bot's API key), as bytes sent to Telegram as
    files: the API may listen where Telegram's servers cannot reach it. Texts are in the language recorded with
    the job when it started.
    """

    def __init__(
        self,
        bot: Bot,
        jobs: BotJobRepository,
        api: ApiClient,
        catalogues: FluentRuntimeCore,
        edit_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bot = bot
        self._jobs = jobs
        self._api = api
        self._catalogues = catalogues
        self._edit_interval_s = edit_interval_s
        self._clock = clock
        # When each chat's status message was last edited: Telegram allows about one edit a second.
        self._last_edit: dict[int, float] = {}

    def _texts(self, job: dict[str, Any]) -> Texts:
        return Texts(self._catalogues, job.get("language", DEFAULT_LANGUAGE))

    async def started(self, event: GenerationStarted) -> None:
        job = await self._jobs.get(event.correlation_id)
        if job is None or job["status"] in FINISHED:
            return
        await self._jobs.mark(job["_id"], BotJobStatus.RUNNING, seed=event.seed)
        await self._edit_status(
            job, progress_text(self._texts(job), 0, event.total_steps), force=True, cancellable=True
        )

    async def progress(self, event: GenerationProgress) -> None:
        job = await self._jobs.get(event.correlation_id)
        if job is None or job["status"] in FINISHED:
            return
        # Dropped rather than delayed: the next step, or the result, supersedes it anyway.
        text = progress_text(self._texts(job), event.step, event.total_steps)
        await self._edit_status(job, text, force=False, cancellable=True)

    async def failed(self, event: GenerationFailed) -> None:
        job = await self._jobs.get(event.correlation_id)
        if job is None or job["status"] in (BotJobStatus.DELIVERED, BotJobStatus.FAILED):
            return
        await self._jobs.mark(job["_id"], BotJobStatus.FAILED, error=event.reason)
        t = self._texts(job)
        reason = event.reason if event.kind == "invalid" else t("failure-our-side")
        await self._edit_status(job, t("generation-failed", reason=reason[:500]), force=True)

    async def cancelled(self, event: GenerationCancelled) -> None:
        job = await self._jobs.get(event.correlation_id)
        if job is None or job["status"] in BotJobStatus.ENDED:
            return
        await self._jobs.mark(job["_id"], BotJobStatus.CANCELLED)
        await self._edit_status(job, self._texts(job)("status-cancelled"), force=True)

    async def completed(self, event: LogoGenerated) -> None:
        job = await self._jobs.claim_delivery(event.correlation_id)
        if job is None:
            return
        t = self._texts(job)
        shown = [image for image in event.images if not image.nsfw]
        hidden = len(event.images) - len(shown)
        album: tuple[int, str] | None = None
        if shown:
            try:
                album = await self._send_album(job, event, shown, t)
                async with telegram_errors("sending the result buttons"):
                    await self._bot.send_message(
                        job["chat_id"],
                        t("rate-prompt"),
                        reply_markup=results_keyboard(t, job["_id"], [image.index for image in shown]),
                    )
            except TelegramForbiddenError:
                logger.info("chat %s blocked the bot; job %s not delivered", job["chat_id"], job["_id"])
                await self._jobs.mark(job["_id"], BotJobStatus.FAILED, error="the chat blocked the bot")
                return
        done = t("done", count=len(shown), seed=str(event.seed))
        if hidden:
            done += " " + t("done-hidden", count=hidden)
        await self._edit_status(job, done, force=True)
        # Where the album's caption is, so that the first logo's palette can join it once its assets are made.
        captioned: dict[str, Any] = {}
        if album is not None:
            captioned = {"album_message_id": album[0], "album_caption": album[1], "first_image": shown[0].image_id}
        await self._jobs.mark(
            job["_id"],
            BotJobStatus.DELIVERED,
            seed=event.seed,
            images=[i.model_dump() for i in event.images],
            **captioned,
        )

    async def assets_ready(self, event: LogoAssetsReady) -> None:
        """The first delivered logo's palette, added to the album's caption (once)."""
        job = await self._jobs.get(event.correlation_id)
        if job is None or not event.palette:
            return
        if job["status"] in (BotJobStatus.QUEUED, BotJobStatus.RUNNING, BotJobStatus.DELIVERING):
            # The assets were quicker than the album: try again once it is out.
            raise RetryableError(f"job {job['_id']} is not delivered yet; its palette waits")
        if job["status"] != BotJobStatus.DELIVERED or job.get("first_image") != event.image_id:
            return
        if job.get("palette_shown"):
            return
        t = self._texts(job)
        palette = palette_text(t, [colour.model_dump() for colour in event.palette])
        caption = f"{job['album_caption']}\n{palette}"[:CAPTION_LIMIT]
        try:
            async with telegram_errors("adding the palette"):
                await self._bot.edit_message_caption(
                    chat_id=job["chat_id"], message_id=job["album_message_id"], caption=caption
                )
        except (TelegramBadRequest, TelegramForbiddenError) as error:  # deleted, or the chat blocked the bot
            logger.info("palette of job %s not added: %s", job["_id"], error)
        await self._jobs.note(job["_id"], palette_shown=True)

    async def _send_album(
        self, job: dict[str, Any], event: LogoGenerated, images: list[ImageRef], t: Translate
    ) -> tuple[int, str]:
        """Send the logos; returns the id of the message that holds the caption, and the caption."""
        try:
            user = requester_id(job["user_id"])
            pngs = await asyncio.gather(*(self._api.stored_image(user, image.key) for image in images))
        except ServiceUnavailable as error:
            raise RetryableError(f"the images of job {job['_id']} could not be fetched: {error}") from error
        caption = t("album-caption", prompt=event.params.prompt, seed=str(event.seed), model=event.model)
        caption = caption[:CAPTION_LIMIT]
        files = [
            BufferedInputFile(png, filename=f"logo-{image.index + 1}.png")
            for image, png in zip(images, pngs, strict=True)
        ]
        async with telegram_errors("sending the logos"):
            if len(files) == 1:
                sent = await self._bot.send_photo(job["chat_id"], files[0], caption=caption)
                return sent.message_id, caption
            media: list[MediaUnion] = [
                InputMediaPhoto(media=file, caption=caption if number == 0 else None)
                for number, file in enumerate(files)
            ]
            messages = await self._bot.send_media_group(job["chat_id"], media)
            return messages[0].message_id, caption

    async def _edit_status(self, job: dict[str, Any], text: str, *, force: bool, cancellable: bool = False) -> None:
        """Edit the job's status message; the ✖ button stays while it is `cancellable` (an edit without a
        keyboard removes it)."""
        chat_id = job["chat_id"]
        now = self._clock()
        if not force and now - self._last_edit.get(chat_id, float("-inf")) < self._edit_interval_s:
            return
        self._last_edit[chat_id] = now
        try:
            async with telegram_errors("editing the status message"):
                await self._bot.edit_message_text(
                    text=text,
                    chat_id=chat_id,
                    message_id=job["status_message_id"],
                    reply_markup=cancel_keyboard(self._texts(job), job["_id"]) if cancellable else None,
                )
        except TelegramBadRequest as error:  # unchanged text, or the user deleted the message
            logger.info("status of job %s not edited: %s", job["_id"], error.message)
        except TelegramForbiddenError:
            logger.info("chat %s blocked the bot; job %s not shown", chat_id, job["_id"])
