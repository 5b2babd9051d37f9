"""🧰 under a delivered logo: its palette and its files (here in Russian), through the real generator, assets worker
and API. The tiny model draws noise, so only the brand kit is made, and the bot says which files could not be."""

import io
import zipfile

import pytest
from faststream import TestApp

from tests.bot.conftest import USER, running_bot, use_tiny_settings
from workers.assets.app import build_assets
from workers.assets.settings import AssetsSettings

pytestmark = pytest.mark.asyncio


async def test_a_logos_files_come_from_its_assets_button(
    telegram, bot_settings_with_api, generator, events, common_env
):
    telegram.languages[USER] = "ru"
    async with running_bot(bot_settings_with_api), TestApp(build_assets(AssetsSettings(**common_env))):
        await use_tiny_settings(telegram, USER, images=1)
        start = len(telegram.calls)
        await telegram.send_text(USER, "a logo of a heron, flat")
        actions = await telegram.wait_call(
            "sendMessage", lambda c: "Оцените" in c.params["text"], after=start, timeout_s=60
        )
        await events.wait(lambda e: e.routing_key == "assets.ready", what="assets.ready")
        # The logo's palette joins its caption once its assets are made.
        captioned = await telegram.wait_call("editMessageCaption", after=start)
        assert captioned.params["caption"].startswith("a logo of a heron, flat\n\nсид ")
        assert "\nПалитра: " in captioned.params["caption"]
        before = len(telegram.calls)
        await telegram.press(USER, actions.button("🧰 1")["callback_data"])
        menu = await telegram.wait_call("sendMessage", lambda c: "Логотип #1" in c.params["text"], after=before)
        text = menu.params["text"]
        assert "Палитра:" in text and "SVG: для этого логотипа не получился" in text
        assert [button["text"] for button in menu.buttons()] == ["Брендбук", "🔀 Вариации", "✏️ Изменить и варьировать"]

        before = len(telegram.calls)
        await telegram.press(USER, menu.button("Брендбук")["callback_data"])
        document = await telegram.wait_call("sendDocument", after=before)
        [kit] = document.files.values()
        assert "favicon.ico" in zipfile.ZipFile(io.BytesIO(kit)).namelist()
        assert document.params["caption"].startswith("Палитра:")

        # Variations of this logo: image to image from it, four new seeds, through the API like any job.
        image_id = (await events.wait(lambda e: e.routing_key == "generation.completed", what="the logo")).body
        parent = f"{image_id['correlation_id']}-0"
        before = len(telegram.calls)
        await telegram.press(USER, menu.button("🔀 Вариации")["callback_data"])
        varied = await events.wait(
            lambda e: e.routing_key == "generation.completed" and e.body["params"].get("variation_of") == parent,
            what="the variations",
        )
        assert len(varied.body["images"]) == 4
        album = await telegram.wait_call("sendMediaGroup", after=before, timeout_s=60)
        assert len(album.params["media"]) == 4

        # Edit and vary: the prompt changed first, then drawn from the same logo.
        before = len(telegram.calls)
        await telegram.press(USER, menu.button("✏️ Изменить и варьировать")["callback_data"])
        await telegram.wait_call("sendMessage", lambda c: "Текущий промпт" in c.params["text"], after=before)
        await telegram.send_text(USER, "a logo of a heron, flat, teal")
        review = await telegram.wait_call("sendMessage", lambda c: "Ваш промпт" in c.params["text"], after=before)
        await telegram.press(USER, review.button("🎨 Нарисовать")["callback_data"])
        edited = await events.wait(
            lambda e: (
                e.routing_key == "generation.completed"
                and e.body["params"].get("variation_of") == parent
                and e.body["params"]["prompt"] == "a logo of a heron, flat, teal"
            ),
            what="the edited variations",
        )
        assert len(edited.body["images"]) == 4
        # History shows the family.
        before = len(telegram.calls)
        await telegram.send_text(USER, "/history")
        page = await telegram.wait_call("sendMessage", lambda c: "Ваши логотипы" in c.params["text"], after=before)
        assert f"🔀 вариация {parent[:8]} #1" in page.params["text"]
