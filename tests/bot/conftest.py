"""The bot's test rig: a fake Telegram Bot API, the bot wired to the test's real broker and stores."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika
import pytest
from faststream import TestApp

from bot.app import BotProcess, build_bot
from bot.settings import BotSettings
from tests.bot.fake_telegram import TOKEN, FakeTelegram
from workers.generator.app import build_generator

USER = 1001
ADMIN = 9001


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
        api_url="http://127.0.0.1:9",  # nothing listens: the API is not part of these tests
    )


@asynccontextmanager
async def running_bot(settings: BotSettings) -> AsyncIterator[BotProcess]:
    """The bot process, started as `logoforge bot` starts it, and stopped at the end of the block."""
    process = build_bot(settings)
    async with TestApp(process.app):
        yield process


def generator_app(generator_settings, shared_model):  # noqa: ANN001, ANN201
    """The generator on the session's shared model (an app never closes a model it was given)."""
    return TestApp(build_generator(generator_settings, model=shared_model))


@pytest.fixture
async def generator(generator_settings, shared_model) -> AsyncIterator:
    async with generator_app(generator_settings, shared_model) as app:
        yield app


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
