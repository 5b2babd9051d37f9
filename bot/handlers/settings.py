"""/settings and /set: images, size, steps, guidance, seed, scheduler and language, validated before saving."""

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram_i18n import I18nContext

from bot.errors import SettingsError
from bot.keyboards import SettingsCB, settings_keyboard
from bot.updates import button_message, sender_id
from bot.user_settings import FIELDS, UserSettings, UserSettingsRepository


def _speak(i18n: I18nContext, changed: UserSettings) -> None:
    """A chosen language takes effect in the very reply that confirms it."""
    if changed.language is not None:
        i18n.locale = changed.language


async def show_settings(message: Message, user_settings: UserSettingsRepository, i18n: I18nContext) -> None:
    current = await user_settings.get(sender_id(message))
    await message.answer(
        i18n("settings-current", summary=current.describe(i18n, i18n.locale)),
        reply_markup=settings_keyboard(i18n, current, i18n.locale),
    )


async def set_value(
    message: Message, command: CommandObject, user_settings: UserSettingsRepository, i18n: I18nContext
) -> None:
    parts = (command.args or "").split()
    if len(parts) != 2:
        raise SettingsError("settings-usage", names=", ".join(FIELDS))
    user_id = sender_id(message)
    current = await user_settings.get(user_id)
    changed = current.with_value(parts[0].lower(), parts[1])
    await user_settings.save(user_id, changed)
    _speak(i18n, changed)
    await message.answer(i18n("settings-saved", summary=changed.describe(i18n, i18n.locale)))


async def choose_value(
    query: CallbackQuery, callback_data: SettingsCB, user_settings: UserSettingsRepository, i18n: I18nContext
) -> None:
    message = button_message(query)
    current = await user_settings.get(query.from_user.id)
    changed = current.with_value(callback_data.name, callback_data.value)
    await user_settings.save(query.from_user.id, changed)
    _speak(i18n, changed)
    name, value = callback_data.name, callback_data.value
    shown = i18n("language-name", language=value) if name == "language" else value
    await query.answer(i18n("setting-changed", name=i18n(f"setting-{name}"), value=shown))
    await message.edit_text(
        i18n("settings-current", summary=changed.describe(i18n, i18n.locale)),
        reply_markup=settings_keyboard(i18n, changed, i18n.locale),
    )


def make_router() -> Router:
    """The settings feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="settings")
    router.message.register(show_settings, Command("settings"))
    router.message.register(set_value, Command("set"))
    router.callback_query.register(choose_value, SettingsCB.filter())
    return router
