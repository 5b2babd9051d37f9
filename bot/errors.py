"""Errors the bot turns into a clear reply to the user (see bot/handlers/errors.py); nothing is published."""


class UserError(Exception):
    """Refused input or action; the message is shown to the user as it is."""


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


class Refused(UserError):
    """The API refused a request for a reason the user can act on (409, 422); its reason is shown as it is."""
