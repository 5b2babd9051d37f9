"""The HTTP API as the bot uses it: an internal service with an API key, acting for a Telegram user."""

import logging
from typing import Any

import aiohttp

from bot.errors import Refused, ServiceUnavailable, StaleButton
from bot.settings import BotSettings

logger = logging.getLogger(__name__)


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
        """Call the API for `user_id`; a 404 means the item behind a button is gone."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        headers = {"X-API-Key": self._admin_key if admin else self._api_key, "X-User-Id": user_id}
        url = f"{self._base_url}{path}"
        try:
            async with self._session.request(method, url, headers=headers, params=params, json=json) as response:
                if response.status == 404:
                    raise StaleButton("That item no longer exists.")
                if response.status in (409, 422) and isinstance(detail := await _detail(response), str):
                    raise Refused(detail)
                if response.status >= 400:
                    detail = (await response.text())[:300]
                    logger.warning("API %s %s answered %s: %s", method, path, response.status, detail)
                    raise ServiceUnavailable(f"The LogoForge API refused that ({response.status}). Try again later.")
                return await response.json()
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.warning("API %s %s failed: %s", method, path, error)
            raise ServiceUnavailable("The LogoForge API is unreachable right now. Try again later.") from error


async def _detail(response: aiohttp.ClientResponse) -> object:
    """The `detail` of a FastAPI error answer (a sentence for our own refusals, a list for schema errors)."""
    try:
        return (await response.json()).get("detail")
    except (aiohttp.ContentTypeError, ValueError, AttributeError):
        return None
