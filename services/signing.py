"""Signed `/static/{key}` links: any process that knows the signing key can hand out a link the API honours."""

import hashlib
import hmac
import time
from urllib.parse import quote

from pydantic import SecretStr


class UrlSigner:
    """Signs `/static/{key}` links so that browsers and chat clients can fetch images without a key."""

    def __init__(self, secret: SecretStr, ttl_s: int) -> None:
        self._secret = secret.get_secret_value().encode()
        self._ttl_s = ttl_s

    def _signature(self, key: str, expires: int) -> str:
        return hmac.new(self._secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def sign(self, base_url: str, key: str, now: float | None = None, ttl_s: int | None = None) -> str:
        """A link to `key` that works until `ttl_s` from now (the signer's own time to live by default)."""
        expires = int((now or time.time()) + (ttl_s or self._ttl_s))
        return f"{base_url.rstrip('/')}/static/{quote(key)}?expires={expires}&sig={self._signature(key, expires)}"

    def verify(self, key: str, expires: int, signature: str, now: float | None = None) -> bool:
        if expires < (now or time.time()):
            return False
        # As bytes: compare_digest refuses a str with non-ASCII characters, and a signature is client input.
        return hmac.compare_digest(signature.encode(), self._signature(key, expires).encode())
