"""Errors the bot turns into a clear reply to the user (see bot/handlers/errors.py); nothing is published.

Each carries the catalogue key of its reply and the values the reply names, so that it is told in the
user's language wherever it is raised.
"""

from typing import Any


class UserError(Exception):
    """Refused input or action; its reply is the catalogue message `key` with `params`."""

    def __init__(self, key: str, /, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __str__(self) -> str:
        details = ", ".join(f"{name}={value!r}" for name, value in self.params.items())
        return f"{self.key} ({details})" if details else self.key


class PromptError(UserError, ValueError):
    """An empty, overlong or otherwise unusable prompt or constructor answer."""


class SettingsError(UserError, ValueError):
    """A generation setting outside GenerationParams' limits."""


class RateLimited(UserError):
    """The user started too many generations lately."""


class StaleButton(UserError):
    """A button whose data the bot does not know (an old message, or forged data)."""


class NotAllowed(UserError):
    """A command for admins only."""


class ServiceUnavailable(UserError):
    """A service the bot depends on (the HTTP API, the broker) did not answer."""


# The API's refusal codes that the bot words itself, in the user's language; any other refusal is told with
# the API's own (English) detail.
API_REFUSALS = {"job-ended": "api-refused-job-ended", "nothing-to-train": "api-refused-nothing-to-train"}


class ApiRefused(UserError):
    """The HTTP API refused a request on its merits (409, 422): told from the catalogue when the API named a
    reason (`code`, with the `values` it names) the bot knows, else with the API's `detail`."""

    def __init__(self, detail: str, code: str | None = None, values: dict[str, str] | None = None) -> None:
        key = API_REFUSALS.get(code or "")
        if key is None:
            super().__init__("error-api-refused", detail=detail)
        else:
            super().__init__(key, **(values or {}))
        self.detail = detail
