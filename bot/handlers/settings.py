"""/settings and /set: images, size, steps, guidance, seed and scheduler, validated before saving."""

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.errors import SettingsError
from bot.keyboards import SettingsCB, settings_keyboard
from bot.updates import button_message, sender_id
from bot.user_settings import FIELDS, UserSettingsRepository

USAGE = f"Usage: /set <name> <value>, where name is one of {', '.join(FIELDS)} (seed also takes 'random')."


async def show_settings(message: Message, user_settings: UserSettingsRepository) -> None:
    current = await user_settings.get(sender_id(message))
    await message.answer(
        f"Your settings:\n{current.describe()}\n\nTap to change, or type e.g. /set steps 25",
        reply_markup=settings_keyboard(current),
    )


async def set_value(message: Message, command: CommandObject, user_settings: UserSettingsRepository) -> None:
    parts = (command.args or "").split()
    if len(parts) != 2:
        raise SettingsError(USAGE)
    user_id = sender_id(message)
    current = await user_settings.get(user_id)
    changed = current.with_value(parts[0].lower(), parts[1])
    await user_settings.save(user_id, changed)
    await message.answer(f"Saved. Your settings:\n{changed.describe()}")


async def choose_value(query: CallbackQuery, callback_data: SettingsCB, user_settings: UserSettingsRepository) -> None:
    message = button_message(query)
    current = await user_settings.get(query.from_user.id)
    changed = current.with_value(callback_data.name, callback_data.value)
    await user_settings.save(query.from_user.id, changed)
    await query.answer(f"{callback_data.name}: {callback_data.value}")
    await message.edit_text(
        f"Your settings:\n{changed.describe()}\n\nTap to change, or type e.g. /set steps 25",
        reply_markup=settings_keyboard(changed),
    )


def make_router() -> Router:
    """The settings feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="settings")
    router.message.register(show_settings, Command("settings"))
    router.message.register(set_value, Command("set"))
    router.callback_query.register(choose_value, SettingsCB.filter())
    return router
