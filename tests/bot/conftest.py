"""The bot's test rig: a fake Telegram Bot API, the bot wired to the test's real broker and stores.

Tests that need the HTTP API (history, best, retrain) serve the real one (`bot_settings_with_api`); the
ratings service runs for real where a rating must reach MongoDB.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika
import pytest
from faststream import TestApp
from pymongo import AsyncMongoClient

from bot.app import BotProcess, build_bot
from bot.settings import BotSettings
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.ratings.app import build_ratings
from services.ratings.settings import RatingsSettings
from tests.bot.fake_telegram import TOKEN, FakeTelegram
from tests.support import ServedApp
from workers.generator.app import build_generator

USER = 1001
OTHER_USER = 1002
ADMIN = 9001
# One 5 scores 1.83: with this bar a single good rating makes an image worth training on.
QUALITY_BAR = 1.5


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = await FakeTelegram().start()
    yield fake
    await fake.stop()


@pytest.fixture
def bot_settings(common_env: dict, telegram: FakeTelegram) -> BotSettings:
    return BotSettings(
        **common_env,
        bot_token=TOKEN,
        telegram_api_url=telegram.url,
        admin_ids=[ADMIN],
        polling_timeout_s=1,
        api_url="http://127.0.0.1:9",  # nothing listens: tests that need the API use bot_settings_with_api
    )


@pytest.fixture
def api_settings(common_env: dict) -> ApiSettings:
    return ApiSettings(**common_env, generate_timeout_s=60, retrain_quality_bar=QUALITY_BAR)


@pytest.fixture
async def api(api_settings: ApiSettings) -> AsyncIterator[ServedApp]:
    """The real HTTP API under uvicorn, on the test's vhost, database and bucket."""
    async with ServedApp(create_app(api_settings)) as served:
        yield served


@pytest.fixture
def bot_settings_with_api(bot_settings: BotSettings, api: ServedApp) -> BotSettings:
    return bot_settings.model_copy(update={"api_url": api.url})


@pytest.fixture
async def ratings_service(common_env: dict) -> AsyncIterator:
    """The real ratings service; its automatic trigger is out of reach, so only /retrain starts runs."""
    settings = RatingsSettings(**common_env, retrain_quality_bar=QUALITY_BAR, retrain_min_images=1000)
    async with TestApp(build_ratings(settings)) as app:
        yield app


@pytest.fixture
async def db(common_env: dict) -> AsyncIterator:
    client = AsyncMongoClient(common_env["mongo_url"], tz_aware=True)
    yield client[common_env["mongo_db"]]
    await client.close()


@asynccontextmanager
async def running_bot(settings: BotSettings) -> AsyncIterator[BotProcess]:
    """The bot process, started as `logoforge bot` starts it, and stopped at the end of the block."""
    process = build_bot(settings)
    async with TestApp(process.app):
        yield process


def generator_app(generator_settings, shared_model):
    """The generator on the session's shared model (an app never closes a model it was given)."""
    return TestApp(build_generator(generator_settings, model=shared_model))


@pytest.fixture
async def generator(generator_settings, shared_model) -> AsyncIterator:
    async with generator_app(generator_settings, shared_model) as app:
        yield app


async def reply_to(telegram: FakeTelegram, user: int, text: str) -> str:
    """Send `text` as `user` and return the text of the bot's next message to them."""
    before = len(telegram.calls)
    await telegram.send_text(user, text)
    call = await telegram.wait_call("sendMessage", lambda c: c.chat_id == user, after=before)
    return call.params["text"]


async def use_tiny_settings(telegram: FakeTelegram, user: int, images: int = 2) -> None:
    """Small images, one step: the only way the tests reach the generator is through the user's settings."""
    for command in ("/set size 64", "/set steps 1", f"/set images {images}"):
        await reply_to(telegram, user, command)


async def queued_messages(rabbit_url: str, queue: str) -> list[dict]:
    """Take every message waiting in `queue` (they were confirmed by the broker before the bot replied)."""
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.get_queue(queue, ensure=True)
        bodies = []
        while (message := await declared.get(no_ack=True, fail=False)) is not None:
            bodies.append(message.body)
    return [json.loads(body) for body in bodies]
