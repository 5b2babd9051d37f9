"""/history and /best end to end: fake Telegram, the real API, generator and ratings service behind the bot."""

import pytest

from bot.keyboards import RateCB
from tests.bot.conftest import OTHER_USER, USER, reply_to, running_bot, use_tiny_settings

pytestmark = pytest.mark.asyncio

PROMPTS = ("a logo of an owl", "a logo of a bear", "a logo of a cat")


async def draw(telegram, user: int, prompt: str) -> RateCB:
    """Draw `prompt` as `user` and wait for the result; the 5★ button of its first image."""
    before = len(telegram.calls)
    await telegram.send_text(user, prompt)
    actions = await telegram.wait_call(
        "sendMessage", lambda c: c.chat_id == user and "Rate each logo" in c.params["text"], after=before, timeout_s=60
    )
    return RateCB.unpack(actions.button("5★")["callback_data"])


async def rate(telegram, events, user: int, button: RateCB, score: int) -> None:
    """Press a rating button and wait until the ratings service has stored it."""
    pressed = button.model_copy(update={"score": score})
    await telegram.press(user, pressed.pack())
    image_id = f"{button.job}-{button.index}"
    await events.wait(
        lambda e: e.routing_key == "rating.recorded" and e.body["image_id"] == image_id, what=f"rating of {image_id}"
    )


async def test_history_pages_and_an_opened_item_is_drawn_again_with_its_edited_prompt(
    telegram, bot_settings_with_api, generator, ratings_service, events, db
):
    settings = bot_settings_with_api.model_copy(update={"history_page_size": 2})
    async with running_bot(settings):
        await use_tiny_settings(telegram, USER, images=1)
        owl, _, _ = [await draw(telegram, USER, prompt) for prompt in PROMPTS]
        await rate(telegram, events, USER, owl, 4)

        start = len(telegram.calls)
        await telegram.send_text(USER, "/history")
        album = await telegram.wait_call("sendMediaGroup", after=start)
        page1 = await telegram.wait_call("sendMessage", lambda c: "page 1" in c.params["text"], after=start)
        assert [m["caption"].split("\n")[1] for m in album.params["media"]] == ["a logo of a cat", "a logo of a bear"]
        assert all(png.startswith(b"\x89PNG") for png in album.files.values())
        assert "1. a logo of a cat" in page1.params["text"] and "owl" not in page1.params["text"]
        assert [b["text"] for b in page1.buttons()] == ["✏️ 1", "✏️ 2", "Older ▶️"]

        await telegram.press(USER, page1.button("Older ▶️")["callback_data"])
        photo = await telegram.wait_call("sendPhoto", after=start)
        page2 = await telegram.wait_call("sendMessage", lambda c: "page 2" in c.params["text"], after=start)
        assert photo.params["caption"] == "3. #1 · 4.0★ (1), you 4★\na logo of an owl"
        assert "3. a logo of an owl\n   " in page2.params["text"]
        assert " UTC · #1 4.0★ (1), you 4★" in page2.params["text"]
        assert [b["text"] for b in page2.buttons()] == ["✏️ 3", "◀️ Newer"]

        back = len(telegram.calls)
        await telegram.press(USER, page2.button("◀️ Newer")["callback_data"])
        await telegram.wait_call("sendMessage", lambda c: "page 1" in c.params["text"], after=back)

        # The user's settings changed since: the redraw keeps the item's own (one 64 px image, one step).
        assert "images: 2" in await reply_to(telegram, USER, "/set images 2")
        reopened = len(telegram.calls)
        await telegram.press(USER, page2.button("✏️ 3")["callback_data"])
        current = await telegram.wait_call(
            "sendMessage", lambda c: "Current prompt" in c.params["text"], after=reopened
        )
        assert "a logo of an owl" in current.params["text"]
        await telegram.send_text(USER, "a logo of an owl in a top hat")
        review = await telegram.wait_call("sendMessage", lambda c: "Your prompt" in c.params["text"], after=reopened)
        await telegram.press(USER, review.button("🎨 Generate")["callback_data"])
        redrawn = await telegram.wait_call("sendPhoto", after=reopened, timeout_s=60)
        assert redrawn.params["caption"].startswith("a logo of an owl in a top hat\n")

    job = await db.jobs.find_one({"params.prompt": "a logo of an owl in a top hat"})
    original = await db.jobs.find_one({"_id": owl.job})
    assert job["requester"]["user_id"] == f"tg:{USER}"  # submitted through the API for the Telegram user
    same = ("num_images", "height", "width", "num_steps", "guidance_scale")
    assert [job["params"][k] for k in same] == [original["params"][k] for k in same] == [1, 64, 64, 1, 7.5]


async def test_best_shows_everyones_and_mine_as_captioned_pictures(
    telegram, bot_settings_with_api, generator, ratings_service, events
):
    async with running_bot(bot_settings_with_api):
        for user in (USER, OTHER_USER):
            await use_tiny_settings(telegram, user, images=1)
        mine = await draw(telegram, USER, "a logo of a fox")
        theirs = await draw(telegram, OTHER_USER, "a logo of a whale")
        await rate(telegram, events, USER, mine, 3)
        await rate(telegram, events, OTHER_USER, theirs, 5)

        start = len(telegram.calls)
        await telegram.send_text(USER, "/best")
        album = await telegram.wait_call("sendMediaGroup", after=start)
        listing = await telegram.wait_call("sendMessage", lambda c: "best logos" in c.params["text"], after=start)
        captions = [m["caption"] for m in album.params["media"]]
        assert captions[0].startswith("1. 5.0★ from 1 rating · score 1.83\na logo of a whale")
        assert captions[1].startswith("2. 3.0★ from 1 rating · score ")
        assert captions[1].endswith("\na logo of a fox")
        assert listing.params["text"].startswith("Everyone's best logos")

        await telegram.press(USER, listing.button("👤 Mine")["callback_data"])
        photo = await telegram.wait_call("sendPhoto", after=start)
        own = await telegram.wait_call("sendMessage", lambda c: "Your best logos" in c.params["text"], after=start)
        assert photo.params["caption"].endswith("\na logo of a fox") and photo.files
        assert "whale" not in own.params["text"]
