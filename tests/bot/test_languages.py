"""The bot in its users' languages, against the fake Bot API: Telegram's language, the user's choice, and prompts
written in Russian (the model reads English best)."""

import pytest

from tests.bot.conftest import OTHER_USER, USER, queued_messages, reply_to, running_bot

pytestmark = pytest.mark.asyncio


async def test_the_language_follows_telegram_until_the_user_chooses_one(telegram, bot_settings):
    telegram.languages |= {USER: "uk", OTHER_USER: "de"}
    async with running_bot(bot_settings):
        assert "Я рисую логотипы по описанию" in await reply_to(telegram, USER, "/help")
        assert "I draw logos from a description" in await reply_to(telegram, OTHER_USER, "/help")

        before = len(telegram.calls)
        await telegram.send_text(USER, "/settings")
        shown = await telegram.wait_call("sendMessage", lambda c: c.chat_id == USER, after=before)
        assert "Ваши настройки" in shown.params["text"] and "язык: Русский" in shown.params["text"]
        assert "✅ Русский" in [button["text"] for button in shown.buttons()]
        await telegram.press(USER, shown.button("English")["callback_data"])
        edited = await telegram.wait_call("editMessageText", after=before)
        assert "Your settings" in edited.params["text"] and "language: English" in edited.params["text"]
        assert "✅ English" in [button["text"] for button in edited.buttons()]

        # Kept with the user's settings: Telegram still says "uk", the bot now speaks English.
        assert "I draw logos" in await reply_to(telegram, USER, "/help")
        saved = await reply_to(telegram, OTHER_USER, "/set language ru")
        assert saved.startswith("Сохранено. Ваши настройки:") and "guidance: 7,5" in saved
        assert "Такой команды я не знаю" in await reply_to(telegram, OTHER_USER, "/frobnicate")
        assert "Нет настройки «colour»" in await reply_to(telegram, OTHER_USER, "/set colour red")


async def test_the_command_menu_is_set_in_each_language(telegram, bot_settings):
    async with running_bot(bot_settings):
        await telegram.wait_call("setMyCommands", lambda c: c.params.get("language_code") == "kk")  # set last
    menus = {c.params.get("language_code"): c.params["commands"] for c in telegram.calls if c.method == "setMyCommands"}
    assert set(menus) == {None, "ru", "uk", "be", "kk"}
    assert menus[None][0] == {"command": "new", "description": "build a prompt step by step"}
    assert menus["uk"][0] == {"command": "new", "description": "собрать промпт шаг за шагом"}


async def test_a_russian_prompt_is_held_with_a_note_and_drawn_only_when_the_user_insists(
    telegram, bot_settings_with_api, rabbit_url
):
    telegram.languages[USER] = "ru"
    async with running_bot(bot_settings_with_api):
        before = len(telegram.calls)
        await telegram.send_text(USER, "логотип лисы, белый фон")
        note = await telegram.wait_call("sendMessage", lambda c: c.chat_id == USER, after=before)
        assert "не на английском" in note.params["text"]
        assert [button["text"] for button in note.buttons()] == ["🎨 Всё равно нарисовать", "🧩 Конструктор"]
        assert await queued_messages(rabbit_url, "generate") == []  # nothing is drawn yet

        # One tap into the constructor, which composes an English prompt.
        await telegram.press(USER, note.button("🧩 Конструктор")["callback_data"])
        await telegram.wait_call("sendMessage", lambda c: "Шаг 1/7" in c.params["text"], after=before)
        # The held prompt went with that choice.
        stale = len(telegram.calls)
        await telegram.press(USER, note.button("🎨 Всё равно нарисовать")["callback_data"])
        alert = await telegram.wait_call("answerCallbackQuery", after=stale)
        assert "промпт уже закрыт" in alert.params["text"]

        await reply_to(telegram, USER, "/cancel")
        before = len(telegram.calls)
        await telegram.send_text(USER, "логотип совы")
        note = await telegram.wait_call("sendMessage", lambda c: "не на английском" in c.params["text"], after=before)
        await telegram.press(USER, note.button("🎨 Всё равно нарисовать")["callback_data"])
        await telegram.wait_call("sendMessage", lambda c: "⏳ В очереди" in c.params["text"], after=before)
        # An English prompt is drawn at once, without a note.
        assert "⏳ В очереди" in await reply_to(telegram, USER, "a logo of an owl")
    published = await queued_messages(rabbit_url, "generate")
    assert [command["params"]["prompt"] for command in published] == ["логотип совы", "a logo of an owl"]
