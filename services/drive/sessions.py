"""Drive sessions: an admin key exchanged for a signed, expiring, HttpOnly cookie, and a CSRF token per session.

The cookie carries a random session id and its HMAC; the session itself (its expiry and its CSRF token) lives
in MongoDB, so signing out ends it everywhere, and a stolen cookie dies with the session. Each API process trusts a
session it has just read for RECHECK_S before it reads it again (a drive page or upload makes one request after
another): a sign-out is honoured at once by the process that took it, and within RECHECK_S by the others.
"""

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import SecretStr
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from schemas.base import utcnow
from services.storage.mongo import translated_errors

COOKIE = "logoforge_drive"
RECHECK_S = 2.0
RECENT_SESSIONS = 1024  # sessions remembered per process, the least recently used forgotten first


@dataclass(frozen=True)
class Session:
    id: str
    csrf: str
    expires_at: datetime


async def create_session_indexes(db: AsyncDatabase) -> None:
    # MongoDB removes a session a minute or so after it expires; reads check the expiry themselves.
    await db.drive_sessions.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)


class Sessions:
    def __init__(
        self, db: AsyncDatabase, secret: SecretStr, ttl_s: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._sessions = db.drive_sessions
        # A key of its own, derived from the signing key: a cookie signature is never a valid link signature.
        self._key = hmac.new(secret.get_secret_value().encode(), b"drive-session", hashlib.sha256).digest()
        self.ttl_s = ttl_s
        self._clock = clock
        self._recent: OrderedDict[str, tuple[Session, float]] = OrderedDict()  # id -> (session, read again after)

    def _signature(self, session_id: str) -> str:
        return hmac.new(self._key, session_id.encode(), hashlib.sha256).hexdigest()

    def cookie_value(self, session: Session) -> str:
        return f"{session.id}.{self._signature(session.id)}"

    async def start(self) -> Session:
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            expires_at=utcnow() + timedelta(seconds=self.ttl_s),
        )
        async with translated_errors("drive session start"):
            await self._sessions.insert_one({"_id": session.id, "csrf": session.csrf, "expires_at": session.expires_at})
        return session

    async def find(self, cookie: str | None) -> Session | None:
        """The live session a cookie names; None for no cookie, a forged one, or an ended or expired session."""
        if not cookie or "." not in cookie:
            return None
        session_id, signature = cookie.rsplit(".", 1)
        if not hmac.compare_digest(signature.encode(), self._signature(session_id).encode()):
            return None
        recent = self._recent.get(session_id)
        if recent is not None and recent[1] > self._clock() and recent[0].expires_at > utcnow():
            self._recent.move_to_end(session_id)
            return recent[0]
        self._recent.pop(session_id, None)
        async with translated_errors("drive session read"):
            document = await self._sessions.find_one({"_id": session_id})
        if document is None:
            return None
        expires_at = document["expires_at"]
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=utcnow().tzinfo)
        if expires_at <= utcnow():
            return None
        session = Session(id=session_id, csrf=document["csrf"], expires_at=expires_at)
        self._recent[session_id] = (session, self._clock() + RECHECK_S)
        if len(self._recent) > RECENT_SESSIONS:
            self._recent.popitem(last=False)
        return session

    async def end(self, session: Session) -> None:
        self._recent.pop(session.id, None)
        async with translated_errors("drive session end"):
            await self._sessions.delete_one({"_id": session.id})


def csrf_matches(session: Session, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(token.encode(), session.csrf.encode())
