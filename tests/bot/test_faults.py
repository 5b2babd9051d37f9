"""Bad input, forged buttons, flood limits, rate limits and the webhook's secret (admin-only: test_admin)."""

import aiohttp
import pytest

from bot.keyboards import RateCB
from logoforge.devstack import free_port
from tests.bot.conftest import USER, queued_messages, reply_to, running_bot

pytestmark = pytest.mark.asyncio

FORGED_JOB = "0123456789abcdef0123456789abcdef"


async def alert_for(telegram, user: int, data: str) -> str:
    before = len(telegram.calls)
    await telegram.press(user, data)
    call = await telegram.wait_call("answerCallbackQuery", after=before)
    return call.params.get("text", "")


async def test_bad_input_gets_a_clear_reply_and_nothing_is_published(telegram, bot_settings_with_api, rabbit_url):
    settings = bot_settings_with_api.model_copy(update={"rate_limit_jobs": 1})
    async with running_bot(settings):
        assert "must not be empty" in await reply_to(telegram, USER, "   ")
        assert "at most 1,000 characters, got 1,001" in await reply_to(telegram, USER, "x" * 1001)
        assert "size must be a multiple of 8, got 100" in await reply_to(telegram, USER, "/set size 100")
        assert "steps must be a whole number" in await reply_to(telegram, USER, "/set steps many")
        assert "images must be at least 1, got 0" in await reply_to(telegram, USER, "/set images 0")
        assert "Unknown setting “colour”" in await reply_to(telegram, USER, "/set colour red")

        assert "no longer valid" in await alert_for(telegram, USER, "rate:not-a-job:0:9")
        forged = RateCB(job=FORGED_JOB, index=0, score=5).pack()
        assert "don't know that job" in await alert_for(telegram, USER, forged)
        assert "size" in await alert_for(telegram, USER, "set:size:99999")

        assert "Queued" in await reply_to(telegram, USER, "a logo of a fox")
        assert "Please wait a little" in await reply_to(telegram, USER, "a logo of a wolf")

    published = await queued_messages(rabbit_url, "generate")
    assert [command["params"]["prompt"] for command in published] == ["a logo of a fox"]
    assert await queued_messages(rabbit_url, "ratings") == []


async def test_an_unreachable_api_gets_a_clear_reply_and_nothing_is_queued(telegram, bot_settings, rabbit_url):
    async with running_bot(bot_settings):
        assert "API is unreachable" in await reply_to(telegram, USER, "/history")
        before = len(telegram.calls)
        await telegram.send_text(USER, "a logo of a fox")
        refused = await telegram.wait_call(
            "sendMessage", lambda c: c.chat_id == USER and "API is unreachable" in c.params["text"], after=before
        )
        status = await telegram.wait_call("editMessageText", after=before)
        assert status.params["text"] == "❌ Could not queue the job."
        assert refused.params["text"].startswith("⚠️")
    assert await queued_messages(rabbit_url, "generate") == []


async def test_flood_limit_is_waited_out_and_the_reply_sent(telegram, bot_settings):
    telegram.fail_next(
        "sendMessage",
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    async with running_bot(bot_settings):
        await telegram.send_text(USER, "/help")
        await telegram.wait_call("sendMessage", lambda c: "/new" in c.params["text"])
    assert [c.status for c in telegram.calls if c.method == "sendMessage"] == [429, 200]


async def test_webhook_refuses_a_request_without_the_secret_and_a_body_that_is_no_update(telegram, bot_settings):
    settings = bot_settings.model_copy(
        update={
            "bot_mode": "webhook",
            "webhook_url": "https://bot.example.org/telegram/webhook",
            "webhook_port": free_port(),
        }
    )
    update = {"update_id": 1, "message": telegram.user_message(USER, "/help")}
    async with running_bot(settings) as process:
        registered = await telegram.wait_call("setWebhook")
        secret = settings.webhook_secret.get_secret_value()
        assert registered.params["secret_token"] == secret
        url = f"http://127.0.0.1:{process.runner.webhook_port}{settings.webhook_path}"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update) as response:
                assert response.status == 401
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as response:
                assert response.status == 401
            assert not [c for c in telegram.calls if c.method == "sendMessage"]
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as response:
                assert response.status == 200
            signed = {"X-Telegram-Bot-Api-Secret-Token": secret}
            for body in (b"not json", b'{"update_id": "not a number"}', b"[1, 2]"):
                async with http.post(url, data=body, headers=signed) as response:
                    assert response.status == 400, body
                    assert (await response.json())["detail"] == "body is not a Telegram update"
        await telegram.wait_call("sendMessage", lambda c: c.chat_id == USER and "/new" in c.params["text"])
