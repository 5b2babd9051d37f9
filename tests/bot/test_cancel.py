"""✖ under the status message: the bot asks the API to cancel, and says so once the job is cancelled."""

import pytest

from tests.bot.conftest import USER, generator_app, reply_to, running_bot, use_tiny_settings

pytestmark = pytest.mark.asyncio


async def test_the_cancel_button_stops_a_drawing_job(
    telegram, bot_settings_with_api, generator_settings, shared_model, events, db
):
    async with running_bot(bot_settings_with_api), generator_app(generator_settings, shared_model):
        await use_tiny_settings(telegram, USER, images=1)
        await reply_to(telegram, USER, "/set steps 150")
        await telegram.send_text(USER, "a logo of a slow tortoise")
        queued = await telegram.wait_call("sendMessage", lambda c: "Queued" in c.params["text"])
        cancel = queued.button("✖ Cancel")["callback_data"]
        # Pressed while it draws: the progress edits keep the button.
        drawing = await telegram.wait_call("editMessageText", lambda c: "Drawing" in c.params["text"])
        assert drawing.button("✖ Cancel")["callback_data"] == cancel
        await telegram.press(USER, cancel, message_id=queued.result["message_id"])
        answered = await telegram.wait_call("answerCallbackQuery")
        assert "Cancelling" in answered.params["text"]
        status = await telegram.wait_call("editMessageText", lambda c: "Cancelled" in c.params["text"])
        assert int(status.params["message_id"]) == queued.result["message_id"]
        assert status.buttons() == []  # the button goes with the job
    job_id = cancel.split(":", 1)[1]
    assert (await db.jobs.find_one({"_id": job_id}))["status"] == "cancelled"
    assert (await db.bot_jobs.find_one({"_id": job_id}))["status"] == "cancelled"
    assert not [e for e in events.received if e.routing_key == "generation.completed"]


async def test_a_cancel_after_the_logo_is_drawn_is_refused_in_the_users_language(
    telegram, bot_settings_with_api, generator_settings, shared_model, events
):
    async with running_bot(bot_settings_with_api), generator_app(generator_settings, shared_model):
        await reply_to(telegram, USER, "/set language ru")
        await use_tiny_settings(telegram, USER, images=1)
        await telegram.send_text(USER, "a logo of a quick hare")
        queued = await telegram.wait_call("sendMessage", lambda c: "В очереди" in c.params["text"])
        cancel = queued.button("✖ Отменить")["callback_data"]
        await events.for_job(cancel.split(":", 1)[1], "generation.completed")
        # ✖ pressed on the old message once the logo is there: the API refuses (409, code `job-ended`), and the
        # bot words the refusal itself rather than passing on the API's English.
        before = len(telegram.calls)
        await telegram.press(USER, cancel, message_id=queued.result["message_id"])
        answered = await telegram.wait_call("answerCallbackQuery", after=before)
        assert answered.params["text"] == "⚠️ Этот логотип уже нарисован: отменять нечего."
