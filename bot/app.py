"""Wiring of the bot process: one function assembles Dispatcher, Bot and broker from their adapters."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.pymongo import PyMongoStorage
from aiogram.types import BotCommand, Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from faststream import FastStream
from faststream.rabbit import RabbitBroker
from pymongo import AsyncMongoClient

from bot.api_client import ApiClient
from bot.delivery import Delivery
from bot.events import make_events_router
from bot.generation import Generations
from bot.handlers import feature_routers
from bot.i18n import DEFAULT_LANGUAGE, READ_AS_RUSSIAN, Texts, load_core, make_middleware
from bot.inflight import InFlight
from bot.jobs import BotJobRepository, RateLimiter, create_bot_indexes
from bot.retry import RetryAfter
from bot.settings import BotSettings
from bot.user_settings import UserSettingsRepository
from services.messaging import declare_topology, make_broker
from services.observability import serve_metrics
from services.storage.mongo import connect, ensure_indexes

logger = logging.getLogger(__name__)

FSM_COLLECTION = "bot_fsm"
COMMANDS = ("new", "settings", "history", "best", "help")
# The command menu per Telegram client language: each reads its catalogue; any other client gets English.
MENU_LANGUAGES = {code: "ru" for code in READ_AS_RUSSIAN}


def commands(t: Texts) -> list[BotCommand]:
    return [BotCommand(command=name, description=t(f"command-{name}")) for name in COMMANDS]


class SharedClientStorage(PyMongoStorage):
    """FSM state in MongoDB on the bot's one client, which the bot closes itself.

    aiogram closes its storage (and with it the client) as soon as polling stops; updates still being
    handled then need that client to finish, so it is closed only after they have (see TelegramRunner.stop).
    """

    async def close(self) -> None:
        return None


def make_session(settings: BotSettings) -> AiohttpSession:
    """Telegram's Bot API, or the one at `telegram_api_url`; flood limits are waited out and retried."""
    if settings.telegram_api_url:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    else:
        session = AiohttpSession()
    session.middleware(RetryAfter())
    return session


class UpdateRequestHandler(SimpleRequestHandler):
    """aiogram's webhook handler, answering 400 to a body that is not a Telegram update.

    aiogram answers 500 to a body that is not JSON, and 200 to JSON that is no update (handled, and
    failing, in the background). The secret is checked first: a caller without it learns nothing (401).
    """

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), bot):
            try:
                Update.model_validate(await request.json(loads=bot.session.json_loads), context={"bot": bot})
            except ValueError:  # json.JSONDecodeError and pydantic's ValidationError alike
                return web.json_response({"detail": "body is not a Telegram update"}, status=400)
        return await super().handle(request)


@dataclass
class TelegramRunner:
    """Receives updates by long polling or by webhook, started after the broker and stopped before it."""

    dispatcher: Dispatcher
    bot: Bot
    settings: BotSettings
    menus: dict[str | None, list[BotCommand]] = field(default_factory=dict)  # by client language; None: others
    in_flight: InFlight = field(default_factory=InFlight)
    webhook_port: int | None = None
    _polling: asyncio.Task | None = None
    _web: web.AppRunner | None = field(default=None, repr=False)

    async def start(self) -> None:
        with suppress(Exception):  # the command menu is a courtesy
            for language_code, menu in self.menus.items():
                await self.bot.set_my_commands(menu, language_code=language_code)
        if self.settings.bot_mode == "webhook":
            await self._start_webhook()
            return
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot,
                handle_signals=False,
                close_bot_session=False,
                polling_timeout=self.settings.polling_timeout_s,
            )
        )

    async def _start_webhook(self) -> None:
        app = web.Application()
        handler = UpdateRequestHandler(
            self.dispatcher, self.bot, secret_token=self.settings.webhook_secret.get_secret_value()
        )
        handler.register(app, path=self.settings.webhook_path)
        self._web = web.AppRunner(app)
        await self._web.setup()
        site = web.TCPSite(self._web, self.settings.webhook_host, self.settings.webhook_port)
        await site.start()
        self.webhook_port = self._web.addresses[0][1]
        await self.bot.set_webhook(
            url=self.settings.webhook_url or "",
            secret_token=self.settings.webhook_secret.get_secret_value(),
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )
        logger.info(
            "webhook listening on %s:%s%s",
            self.settings.webhook_host,
            self.webhook_port,
            self.settings.webhook_path,
        )

    async def stop(self) -> None:
        if self._polling is not None:
            with suppress(RuntimeError):  # polling that already ended
                await self.dispatcher.stop_polling()
            await asyncio.gather(self._polling, return_exceptions=True)
        if self._web is not None:
            # The webhook stays registered: Telegram keeps the updates until the bot is back.
            await self._web.cleanup()
        # Updates already taken finish before the broker and MongoDB close behind them.
        await self.in_flight.drain(self.settings.shutdown_grace_s)


@dataclass
class BotProcess:
    """The assembled bot: the FastStream app to run, and its parts for whoever needs to look inside."""

    app: FastStream
    dispatcher: Dispatcher
    bot: Bot
    broker: RabbitBroker
    runner: TelegramRunner


def build_bot(
    settings: BotSettings,
    *,
    broker: RabbitBroker | None = None,
    mongo_client: AsyncMongoClient | None = None,
    session: AiohttpSession | None = None,
) -> BotProcess:
    """Assemble the bot process; nothing connects until the app starts.

    The bot reaches the rest of LogoForge through two doors only: the broker (its events queue, RateLogo)
    and the HTTP API (jobs, images, history, admin); MongoDB holds its own state alone.
    """
    broker = broker or make_broker(settings.rabbit_url)
    broker.include_router(make_events_router())
    mongo_client = mongo_client or connect(settings)
    db = mongo_client[settings.mongo_db]
    bot = Bot(settings.require_token(), session=session or make_session(settings))
    jobs = BotJobRepository(db)
    user_settings = UserSettingsRepository(db)
    api = ApiClient(settings)
    catalogues = load_core()
    dispatcher = Dispatcher(
        storage=SharedClientStorage(mongo_client, db_name=settings.mongo_db, collection_name=FSM_COLLECTION),
        generations=Generations(
            broker,
            jobs,
            user_settings,
            RateLimiter(jobs, settings.rate_limit_jobs, settings.rate_limit_window_s),
            api,
        ),
        jobs=jobs,
        user_settings=user_settings,
        api=api,
        broker=broker,
        bot_settings=settings,
        i18n_core=catalogues,
    )
    dispatcher.include_routers(*feature_routers())
    delivery = Delivery(bot, jobs, api, catalogues, settings.progress_edit_interval_s)
    broker.context.set_global("delivery", delivery)
    menus: dict[str | None, list[BotCommand]] = {None: commands(Texts(catalogues, DEFAULT_LANGUAGE))}
    menus |= {code: commands(Texts(catalogues, language)) for code, language in MENU_LANGUAGES.items()}
    runner = TelegramRunner(dispatcher, bot, settings, menus)
    dispatcher.update.outer_middleware(runner.in_flight)
    dispatcher.update.outer_middleware(make_middleware(catalogues, user_settings))

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await ensure_indexes(db, [create_bot_indexes])
        await broker.connect()
        await declare_topology(broker)
        logger.info("bot ready in %s mode", settings.bot_mode)
        yield
        await api.close()
        await bot.session.close()
        await mongo_client.close()

    app = FastStream(broker, lifespan=lifespan)
    serve_metrics(app, settings.metrics_port, settings.metrics_host)
    app.after_startup(runner.start)
    app.on_shutdown(runner.stop)
    return BotProcess(app=app, dispatcher=dispatcher, bot=bot, broker=broker, runner=runner)
