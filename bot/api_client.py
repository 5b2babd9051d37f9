"""The HTTP API as the bot uses it: an internal service with an API key, acting for a Telegram user."""

import logging
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from opentelemetry import propagate, trace

from bot.errors import ApiRefused, ServiceUnavailable, StaleButton
from bot.settings import BotSettings
from schemas.generation import GenerationParams

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

# Answers that say the request itself cannot be done (nothing to train on, a bad cursor): the user reads why.
REFUSALS = (409, 422)


def static_path(signed_url: str) -> str:
    """The `/static/...?expires=..&sig=..` part of a signed image link.

    Links are signed for the public URL, which the bot's network may not reach (compose: nginx on the
    host); the signature covers only the key and expiry, so the same path works on the bot's API URL.
    """
    parts = urlsplit(signed_url)
    start = parts.path.find("/static/")
    if start < 0:
        raise ValueError(f"url: not a signed image link from the API, got {signed_url[:100]!r}")
    return parts.path[start:] + (f"?{parts.query}" if parts.query else "")


async def _refusal(response: aiohttp.ClientResponse) -> ApiRefused:
    """The API's refusal: its reason's code and values when it names them, and its detail."""
    try:
        body = await response.json()
    except (aiohttp.ContentTypeError, ValueError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        return ApiRefused(await _detail(response))
    code, values = body.get("code"), body.get("values")
    return ApiRefused(
        body["detail"][:300],
        code if isinstance(code, str) else None,
        {str(name): str(value) for name, value in values.items()} if isinstance(values, dict) else None,
    )


async def _detail(response: aiohttp.ClientResponse) -> str:
    """The API's `detail` (FastAPI's error body), or the start of the raw text."""
    try:
        detail = (await response.json()).get("detail")
    except (aiohttp.ContentTypeError, ValueError, AttributeError):
        detail = None
    if isinstance(detail, str):
        return detail[:300]
    return (await response.text())[:300]


class ApiClient:
    """One aiohttp session, opened on first use; every failure becomes a reply the user can read."""

    def __init__(self, settings: BotSettings) -> None:
        self._base_url = settings.api_url.rstrip("/")
        self._api_key = settings.api_key.get_secret_value()
        self._admin_key = settings.api_admin_key.get_secret_value()
        self._timeout = aiohttp.ClientTimeout(total=settings.api_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        user_id: str,
        admin: bool = False,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Call the API for `user_id` and return the JSON answer; a 404 means the item behind a button is gone."""
        headers = {"X-API-Key": self._admin_key if admin else self._api_key, "X-User-Id": user_id}
        return await self._call(method, path, headers, params=params, json=json)

    async def submit_job(self, user_id: str, params: GenerationParams, idempotency_key: str) -> dict[str, Any]:
        """`POST /jobs` for `user_id`; the same key answers with the same job, so a retry queues nothing twice."""
        headers = {"X-API-Key": self._api_key, "X-User-Id": user_id, "Idempotency-Key": idempotency_key}
        return await self._call("POST", "/jobs", headers, json=params.model_dump(mode="json"))

    async def image(self, signed_url: str) -> bytes:
        """The bytes of an image the API linked to (history, best), fetched through the bot's API URL."""
        return await self._call("GET", static_path(signed_url), {"X-API-Key": self._api_key}, raw=True)

    async def stored_image(self, user_id: str, key: str) -> bytes:
        """The bytes of one of `user_id`'s images by its S3 key (as generation events name it), via `/static`."""
        headers = {"X-API-Key": self._api_key, "X-User-Id": user_id}
        return await self._call("GET", f"/static/{quote(key)}", headers, raw=True)

    async def _call(self, method: str, path: str, headers: dict[str, str], *, raw: bool = False, **kwargs: Any) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        url = f"{self._base_url}{path}"
        # A span of the bot's own, whose context the API's request span (and so the whole job) continues.
        span = tracer.start_as_current_span(
            f"api {method}", kind=trace.SpanKind.CLIENT, attributes={"url.path": path.split("?")[0]}
        )
        with span:
            propagate.inject(headers)
            return await self._send(self._session, method, url, headers, raw=raw, **kwargs)

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        raw: bool,
        **kwargs: Any,
    ) -> Any:
        path = urlsplit(url).path
        try:
            async with session.request(method, url, headers=headers, **kwargs) as response:
                if response.status == 404:
                    raise StaleButton("error-item-gone")
                if response.status in REFUSALS:
                    raise await _refusal(response)
                if response.status >= 400:
                    logger.warning("API %s %s answered %s: %s", method, path, response.status, await _detail(response))
                    raise ServiceUnavailable("error-api-status", status=str(response.status))
                return await response.read() if raw else await response.json()
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.warning("API %s %s failed: %s", method, path.split("?")[0], error)
            raise ServiceUnavailable("error-api-unreachable") from error
