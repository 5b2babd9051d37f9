"""Who may call: API keys for internal services (acting for a user id), admin keys, and signed image URLs."""

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote

from pydantic import SecretStr


@dataclass(frozen=True)
class Caller:
    """An authenticated caller and the user it acts for."""

    user_id: str
    is_admin: bool


def key_matches(candidate: str, keys: list[SecretStr]) -> bool:
    """Constant-time comparison against every configured key (no early exit on a match)."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(candidate.encode(), key.get_secret_value().encode())
    return matched


class UrlSigner:
    """Signs `/static/{key}` links so that browsers and chat clients can fetch images without a key."""

    def __init__(self, secret: SecretStr, ttl_s: int) -> None:
        self._secret = secret.get_secret_value().encode()
        self._ttl_s = ttl_s

    def _signature(self, key: str, expires: int) -> str:
        return hmac.new(self._secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def sign(self, base_url: str, key: str, now: float | None = None) -> str:
        expires = int((now or time.time()) + self._ttl_s)
        return f"{base_url.rstrip('/')}/static/{quote(key)}?expires={expires}&sig={self._signature(key, expires)}"

    def verify(self, key: str, expires: int, signature: str, now: float | None = None) -> bool:
        if expires < (now or time.time()):
            return False
        return hmac.compare_digest(signature, self._signature(key, expires))
