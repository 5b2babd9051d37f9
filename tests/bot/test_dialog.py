"""The bot end to end: fake Telegram in front, the real broker, generator, SeaweedFS and SecantusDB behind."""

import pytest

from bot.keyboards import RateCB
from tests.bot.conftest import USER, generator_app, running_bot, use_tiny_settings

pytestmark = pytest.mark.asyncio


# The constructor as an English and a Russian user go through it: (what the bot's texts contain, how each step
# is answered: a typed text or a hint button's label, and the prompt it composes).
ENGLISH = {
    "texts": {
        "step": "Step {}/",
        "name": "called",
        "review": "Your prompt",
        "rate": "Rate each logo",
        "done": "Done: 2 logos",
        "caption": "seed",
        "rated": "Rated #1",
        "queued": "⏳ Queued",
    },
    "buttons": {"generate": "🎨 Generate", "reroll": "🎲 Reroll", "cancel": "✖ Cancel"},
    "answers": [
        ("text", "Foxtrot"),
        ("button", "☕ coffee"),
        ("button", "🦊 fox"),
        ("text", "minimalist"),
        ("text", "orange"),
        ("text", "white"),
        ("button", "⏭ skip"),
    ],
    "prompt": "a logo of a fox for Foxtrot, a coffee shop, white background, orange foreground, minimalism, modern",
    "note": None,
}
RUSSIAN = {
    "texts": {
        "step": "Шаг {}/",
        "name": "называется",
        "review": "Ваш промпт",
        "rate": "Оцените каждый логотип",
        "done": "Готово: 2 логотипа",
        "caption": "сид",
        "rated": "Оценка #1",
        "queued": "⏳ В очереди",
    },
    "buttons": {"generate": "🎨 Нарисовать", "reroll": "🎲 Ещё раз", "cancel": "✖ Отменить"},
    # The brand name is Russian; every other answer is a hint button, which puts English words in the prompt.
    "answers": [
        ("text", "Лисичка"),
        ("button", "☕ кофейня"),
        ("button", "🦊 лиса"),
        ("button", "минимализм"),
        ("button", "🌅 закат"),
        ("button", "белый"),
        ("text", "пропустить"),
    ],
    "prompt": "a logo of a fox for Лисичка, a coffee shop, white background, orange and pink foreground, minimalism, "
    "modern",
    "note": "Здесь есть слова не на английском: Лисичка",
}


@pytest.mark.parametrize(("language_code", "script"), [("en", ENGLISH), ("ru", RUSSIAN)])
async def test_constructor_dialog_delivers_an_album_and_the_rating_is_stored(
    telegram, bot_settings_with_api, generator, ratings_service, events, db, language_code, script
):
    texts, buttons = script["texts"], script["buttons"]
    telegram.languages[USER] = language_code
    async with running_bot(bot_settings_with_api):
        await use_tiny_settings(telegram, USER)
        start = len(telegram.calls)
        await telegram.send_text(USER, "/new")
        for number, (kind, answer) in enumerate(script["answers"], start=1):
            question = await telegram.wait_call(
                "sendMessage", lambda c, n=number: texts["step"].format(n) in c.params["text"], after=start
            )
            if number == 1:
                assert texts["name"] in question.params["text"]
            if kind == "button":
                await telegram.press(USER, question.button(answer)["callback_data"])
            else:
                await telegram.send_text(USER, answer)

        review = await telegram.wait_call("sendMessage", lambda c: texts["review"] in c.params["text"], after=start)
        prompt = script["prompt"]
        assert prompt in review.params["text"]
        if script["note"]:
            assert script["note"] in review.params["text"]
        else:
            assert "⚠️" not in review.params["text"]
        await telegram.press(USER, review.button(buttons["generate"])["callback_data"])
        queued = await telegram.wait_call("sendMessage", lambda c: texts["queued"] in c.params["text"], after=start)
        assert queued.buttons()[0]["text"] == buttons["cancel"]

        album = await telegram.wait_call("sendMediaGroup", lambda c: c.chat_id == USER, after=start, timeout_s=60)
        assert len(album.params["media"]) == 2
        assert all(part.startswith(b"\x89PNG") for part in album.files.values())
        caption = album.params["media"][0]["caption"]
        assert caption.startswith(prompt) and f"\n\n{texts['caption']} " in caption
        actions = await telegram.wait_call("sendMessage", lambda c: texts["rate"] in c.params["text"], after=start)
        assert buttons["reroll"] in [button["text"] for button in actions.buttons()]
        await telegram.wait_call("editMessageText", lambda c: texts["done"] in c.params["text"], after=start)

        rate = RateCB.unpack(actions.button("4★")["callback_data"])
        assert rate.index == 0
        before = len(telegram.calls)
        await telegram.press(USER, actions.button("4★")["callback_data"])
        answer = await telegram.wait_call("answerCallbackQuery", after=before)
        assert texts["rated"] in answer.params["text"]

        # The ratings service announces a rating once it is committed to MongoDB.
        image_id = f"{rate.job}-0"
        rated = await events.wait(
            lambda e: e.routing_key == "rating.recorded" and e.body["image_id"] == image_id, what="rating.recorded"
        )
    assert (rated.body["count"], rated.body["mean"]) == (1, 4.0)
    stored = await db.ratings.find({}).to_list()
    assert [(r["image_id"], r["user_id"], r["score"]) for r in stored] == [(image_id, f"tg:{USER}", 4)]
    scores = await db.image_scores.find_one({"_id": image_id})
    assert (scores["count"], scores["job_id"]) == (1, rate.job)


async def test_a_restart_mid_dialog_keeps_its_state(telegram, bot_settings):
    async with running_bot(bot_settings):
        await telegram.send_text(USER, "/new")
        await telegram.wait_call("sendMessage", lambda c: "Step 1/" in c.params["text"])
        answered = await telegram.send_text(USER, "Foxtrot")
        step2 = await telegram.wait_call("sendMessage", lambda c: "Step 2/" in c.params["text"])
        await telegram.wait_confirmed(answered)

    restarted_at = len(telegram.calls)
    async with running_bot(bot_settings):
        await telegram.send_text(USER, "fitness club")
        await telegram.wait_call("sendMessage", lambda c: "Step 3/" in c.params["text"], after=restarted_at)
        # A hint button of the step already answered is stale now.
        await telegram.press(USER, step2.button("☕ coffee")["callback_data"])
        stale = await telegram.wait_call("answerCallbackQuery", after=restarted_at)
        assert "step that is over" in stale.params["text"]


async def test_a_restart_mid_generation_still_delivers(
    telegram, bot_settings_with_api, generator_settings, shared_model, events, db
):
    async with running_bot(bot_settings_with_api):
        await use_tiny_settings(telegram, USER)
        await telegram.send_text(USER, "a logo of a mountain, white background, blue foreground, minimalism, modern")
        queued = await telegram.wait_call("sendMessage", lambda c: "Queued" in c.params["text"])
        assert "yours is next" in queued.params["text"]

    # The bot is down while the generator draws: the events wait in the bot's durable queue.
    async with generator_app(generator_settings, shared_model):
        done = await events.wait(lambda e: e.routing_key == "generation.completed", what="generation.completed")
    # Submitted through the API for the Telegram user, under the job id the bot recorded beforehand.
    assert done.body["requester"]["user_id"] == f"tg:{USER}"
    assert await db.bot_jobs.find_one({"_id": done.body["correlation_id"], "chat_id": USER}) is not None

    restarted_at = len(telegram.calls)
    async with running_bot(bot_settings_with_api):
        album = await telegram.wait_call("sendMediaGroup", after=restarted_at)
        assert album.chat_id == USER and len(album.files) == 2
        status = await telegram.wait_call("editMessageText", lambda c: "Done" in c.params["text"], after=restarted_at)
        assert int(status.params["message_id"]) == queued.result["message_id"]
