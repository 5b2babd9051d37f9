"""Who may call: service keys (each with an owner and the user ids it may act for), admin keys, signed image URLs."""

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, Field, SecretStr


class ServiceKey(BaseModel):
    """An API key of one internal service (`LOGOFORGE_API_KEYS` is a JSON list of these).

    The service acts for the users whose ids start with `users` (the bot: `tg:`), never for another
    service's; without `X-User-Id` it acts as itself and reads any of its own users' data. `users` defaults to
    `<owner>:`; an empty `users` lets the key act for any user id (the development key only).
    """

    owner: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    key: SecretStr
    users: str | None = Field(default=None, max_length=32, description="Prefix of the user ids it acts for.")

    @property
    def user_prefix(self) -> str:
        return f"{self.owner}:" if self.users is None else self.users


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the user it acts for, and whose data it may read.

    An admin key reads everything. A service key acting for a user (`X-User-Id`) reads that user's data
    only; acting as itself, it reads the data of every user it may act for.
    """

    user_id: str
    is_admin: bool
    user_prefix: str | None = None  # the users a service key may act for; None for an admin
    for_user: bool = False  # whether X-User-Id named the user

    def may_read(self, user_id: str) -> bool:
        if self.is_admin or user_id == self.user_id:
            return True
        return not self.for_user and self.user_prefix is not None and user_id.startswith(self.user_prefix)


Item = TypeVar("Item")


def key_matches(candidate: str, keys: list[SecretStr]) -> bool:
    """Constant-time comparison against every configured key (no early exit on a match)."""
    return _constant_time_find(candidate, keys, lambda key: key) is not None


def service_key_for(candidate: str, keys: list[ServiceKey]) -> ServiceKey | None:
    """The service key equal to `candidate`, compared in constant time against every key."""
    return _constant_time_find(candidate, keys, lambda service: service.key)


def _constant_time_find(candidate: str, items: list[Item], secret: Callable[[Item], SecretStr]) -> Item | None:
    """The item whose secret equals `candidate`; every item is compared, so the time says nothing of which."""
    found = None
    for item in items:
        if hmac.compare_digest(candidate.encode(), secret(item).get_secret_value().encode()):
            found = item
    return found
