"""A local fake of the Telegram Bot API: serves getUpdates from a queue the test fills, records every call.

It speaks the Bot API's HTTP form (POST /bot<token>/<method>, multipart or urlencoded fields, JSON-encoded
complex values, files as `attach://` parts) and answers with the objects aiogram expects, so the real aiogram
client runs against it unchanged. Tests await the call they expect instead of sleeping.
"""

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 4242
TOKEN = f"{BOT_ID}:fake-token"


@dataclass
class Call:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    result: Any = None
    status: int = 200

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    def buttons(self) -> list[dict[str, Any]]:
        """Every inline button of the call's reply_markup, row by row."""
        markup = self.params.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    def button(self, text: str) -> dict[str, Any]:
        for button in self.buttons():
            if button["text"] == text:
                return button
        raise AssertionError(f"no button {text!r} in {[b['text'] for b in self.buttons()]}")


def _decode(value: str) -> Any:
    """Complex values arrive JSON-encoded; plain strings stay strings."""
    if value[:1] in "{[" or value in ("true", "false"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeTelegram:
    """The fake server; `updates` feeds getUpdates, `calls` records everything else."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self._changed = asyncio.Condition()
        self._updates: list[dict[str, Any]] = []
        self._confirmed = 0  # highest update_id the bot confirmed by asking for a later offset
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._failures: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""
        # The `language_code` each user's Telegram client reports (none for users not listed).
        self.languages: dict[int, str] = {}

    async def start(self) -> "FakeTelegram":
        app = web.Application(client_max_size=50 * 1024**2)  # Telegram takes documents up to 50 MB
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # What the test does.

    async def push(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        update_id = next(self._update_ids)
        async with self._changed:
            self._updates.append({"update_id": update_id, **update})
            self._changed.notify_all()
        return update_id

    async def send_text(self, user_id: int, text: str) -> int:
        return await self.push({"message": self.user_message(user_id, text)})

    async def press(self, user_id: int, data: str, message_id: int = 1) -> int:
        return await self.push(
            {
                "callback_query": {
                    "id": f"cq{next(self._update_ids)}",
                    "from": self._user(user_id),
                    "chat_instance": str(user_id),
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": int(time.time()),
                        "chat": _chat(user_id),
                        "from": _user(BOT_ID, is_bot=True),
                        "text": "…",
                    },
                }
            }
        )

    def user_message(self, user_id: int, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(user_id),
            "from": self._user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return message

    def _user(self, user_id: int) -> dict[str, Any]:
        user = _user(user_id)
        if user_id in self.languages:
            user["language_code"] = self.languages[user_id]
        return user

    def fail_next(self, method: str, status: int, body: dict[str, Any]) -> None:
        """Answer the next call of `method` with this error instead of success."""
        self._failures.setdefault(method, []).append((status, body))

    async def wait_call(
        self,
        method: str,
        match: Callable[[Call], bool] = lambda call: True,
        timeout_s: float = 30,
        after: int = 0,
    ) -> Call:
        """The first successful call of `method` (from index `after` on) that matches, waiting up to `timeout_s`."""

        def found() -> Call | None:
            return next((c for c in self.calls[after:] if c.method == method and c.status == 200 and match(c)), None)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(found), timeout_s)
            except TimeoutError:
                seen = [c.method for c in self.calls[after:]]
                raise AssertionError(f"no matching {method} within {timeout_s}s; saw {seen}") from None
        call = found()
        assert call is not None
        return call

    async def wait_confirmed(self, update_id: int, timeout_s: float = 10) -> None:
        """Wait until the bot asked for updates after `update_id`, i.e. it will not receive it again."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self._confirmed >= update_id), timeout_s)

    def texts(self, chat_id: int, after: int = 0) -> list[str]:
        return [
            c.params.get("text", "")
            for c in self.calls[after:]
            if c.chat_id == chat_id and c.method in ("sendMessage", "editMessageText")
        ]

    # The Bot API side.

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, files = await self._read(request)
        if method.lower() == "getupdates":
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        failures = self._failures.get(method)
        if failures:
            status, body = failures.pop(0)
            async with self._changed:
                self.calls.append(Call(method, params, files, body, status))
                self._changed.notify_all()
            return web.json_response(body, status=status)
        result = self._result(method, params)
        async with self._changed:
            self.calls.append(Call(method, params, files, result))
            self._changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    async def _read(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            return await request.json(), files
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files[name] = value.file.read()
            else:
                params[name] = _decode(str(value))
        return params, files

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        timeout_s = float(params.get("timeout", 0) or 0)
        async with self._changed:
            if offset:
                self._confirmed = max(self._confirmed, offset - 1)
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self._changed.notify_all()
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._updates)), timeout_s)
            except TimeoutError:
                return []
            return list(self._updates)

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"]) if "chat_id" in params else 0
        if method == "getMe":
            return {**_user(BOT_ID, is_bot=True), "username": "logoforge_test_bot"}
        if method in ("sendMessage", "editMessageText"):
            message_id = int(params.get("message_id") or next(self._message_ids))
            return self._message(chat_id, message_id, text=params.get("text", ""))
        if method == "sendPhoto":
            return self._message(chat_id, next(self._message_ids), photo=[_photo()])
        if method == "sendDocument":
            document = {"file_id": "doc", "file_unique_id": "doc", "file_name": "logo.png"}
            return self._message(chat_id, next(self._message_ids), document=document)
        if method == "sendMediaGroup":
            return [
                self._message(chat_id, next(self._message_ids), photo=[_photo()], media_group_id="album")
                for _ in params.get("media", [])
            ]
        if method == "editMessageReplyMarkup":
            return self._message(chat_id, int(params.get("message_id", 0)), text="…")
        return True  # answerCallbackQuery, setMyCommands, deleteWebhook, setWebhook, deleteMessage

    def _message(self, chat_id: int, message_id: int, **content: Any) -> dict[str, Any]:
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": _user(BOT_ID, is_bot=True),
            **content,
        }


def _user(user_id: int, is_bot: bool = False) -> dict[str, Any]:
    return {"id": user_id, "is_bot": is_bot, "first_name": f"user{user_id}"}


def _chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}


def _photo() -> dict[str, Any]:
    return {"file_id": "photo", "file_unique_id": "photo", "width": 64, "height": 64}
