"""The bot's languages: Fluent catalogues in bot/locales, one per language, read through aiogram-i18n.

Every text the bot sends is a catalogue message. A user's language is the one they chose in /settings, else
the one their Telegram client reports (`language_code`), else English. Texts sent outside an update (the
progress and results of a job, which arrive from the broker) use the language recorded with the job.
"""

import logging
from pathlib import Path
from typing import Any, Protocol

from aiogram.types import User
from aiogram_i18n import I18nMiddleware
from aiogram_i18n.cores import FluentRuntimeCore
from aiogram_i18n.managers import BaseManager

from bot.user_settings import UserSettingsRepository
from services.errors import StoreUnavailable

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"
# Telegram clients set in Ukrainian, Belarusian or Kazakh mostly belong to people who read Russian far more
# readily than English; they get Russian first, and /settings switches to English in one tap.
READ_AS_RUSSIAN = ("ru", "uk", "be", "kk")


class Translate(Protocol):
    """A catalogue lookup in the language `locale`: `t("key", name=value)`. aiogram-i18n's I18nContext is one."""

    locale: str

    def __call__(self, key: str, /, **args: Any) -> str: ...


def language_for(language_code: str | None) -> str:
    """The catalogue for a Telegram `language_code` such as "ru", "uk" or "en-US"."""
    primary = (language_code or "").split("-")[0].lower()
    return "ru" if primary in READ_AS_RUSSIAN else DEFAULT_LANGUAGE


def load_core() -> FluentRuntimeCore:
    """Both catalogues, parsed and compiled now, so that a broken catalogue stops the bot at start."""
    core = FluentRuntimeCore(path=LOCALES_DIR / "{locale}", default_locale=DEFAULT_LANGUAGE, use_td=False)
    core.locales.update(core.find_locales())
    missing = set(LANGUAGES) - set(core.locales)
    if missing:
        raise RuntimeError(f"bot catalogues missing for {', '.join(sorted(missing))} in {LOCALES_DIR}")
    return core


class Texts:
    """The catalogue in one language, for texts sent outside an update's handler."""

    def __init__(self, core: FluentRuntimeCore, language: str) -> None:
        self._core = core
        self.locale = language if language in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, key: str, /, **args: Any) -> str:
        return self._core.get(key, self.locale, **args)


def texts_for_update(core: FluentRuntimeCore, user: User | None) -> Texts:
    """The catalogue for an update whose handler has no `i18n` (its language could not be looked up)."""
    return Texts(core, language_for(user.language_code if user is not None else None))


class UserLanguage(BaseManager):
    """aiogram-i18n's locale manager: the language kept with the user's settings, else Telegram's."""

    def __init__(self, user_settings: UserSettingsRepository) -> None:
        super().__init__(default_locale=DEFAULT_LANGUAGE)
        self._user_settings = user_settings

    async def get_locale(self, event_from_user: User | None = None) -> str:
        if event_from_user is None:
            return DEFAULT_LANGUAGE
        try:
            chosen = (await self._user_settings.get(event_from_user.id)).language
        except StoreUnavailable:  # the update may still be answered, in the language Telegram reports
            logger.warning("language of user %s unknown: MongoDB unavailable", event_from_user.id)
            chosen = None
        return chosen or language_for(event_from_user.language_code)

    async def set_locale(self, locale: str, event_from_user: User | None = None) -> None:
        if event_from_user is not None:
            current = await self._user_settings.get(event_from_user.id)
            await self._user_settings.save(event_from_user.id, current.model_copy(update={"language": locale}))


def make_middleware(core: FluentRuntimeCore, user_settings: UserSettingsRepository) -> I18nMiddleware:
    """The middleware that gives each handler `i18n` (an I18nContext in the user's language).

    Registered by hand rather than with `setup()`, which would also clear the catalogues when polling stops,
    while the broker side still delivers results in them.
    """
    return I18nMiddleware(core=core, manager=UserLanguage(user_settings), default_locale=DEFAULT_LANGUAGE)
