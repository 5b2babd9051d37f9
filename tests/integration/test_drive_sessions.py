"""Drive sessions on the real database: a process reads a session again only after RECHECK_S, honours its own
sign-out at once, and another process's sign-out within RECHECK_S."""

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from pymongo import AsyncMongoClient, monitoring

from services.drive.sessions import RECHECK_S, Sessions


class SessionReads(monitoring.CommandListener):
    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find" and event.command.get("find") == "drive_sessions":
            self.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def csrf_of(sessions: Sessions, cookie: str) -> str | None:
    """The CSRF token of the session a cookie names (it tells sessions apart; expiries come back in milliseconds)."""
    session = await sessions.find(cookie)
    return session.csrf if session else None


@pytest.fixture
async def db_and_reads(store_env: dict) -> AsyncIterator:
    reads = SessionReads()
    client: AsyncMongoClient = AsyncMongoClient(store_env["mongo_url"], tz_aware=True, event_listeners=[reads])
    try:
        yield client[store_env["mongo_db"]], reads
    finally:
        await client.close()


async def test_a_session_is_read_again_only_after_a_while_and_a_sign_out_elsewhere_is_honoured_then(db_and_reads):
    db, reads = db_and_reads
    clock = Clock()
    here = Sessions(db, SecretStr("k" * 32), ttl_s=3600, clock=clock)
    elsewhere = Sessions(db, SecretStr("k" * 32), ttl_s=3600)  # another API process, same key and database
    session = await here.start()
    cookie = here.cookie_value(session)

    for _ in range(5):
        assert await csrf_of(here, cookie) == session.csrf
    assert reads.count == 1

    await elsewhere.end(session)  # signed out on another process
    clock.now += RECHECK_S / 2
    assert await csrf_of(here, cookie) == session.csrf  # still trusted for a moment here
    clock.now += RECHECK_S / 2
    assert await here.find(cookie) is None
    assert reads.count == 2
    assert await here.find(cookie) is None and reads.count == 3  # an ended session is not remembered


async def test_a_sign_out_ends_the_session_at_once_in_its_own_process_and_a_forged_cookie_reads_nothing(db_and_reads):
    db, reads = db_and_reads
    sessions = Sessions(db, SecretStr("k" * 32), ttl_s=3600, clock=Clock())
    session = await sessions.start()
    cookie = sessions.cookie_value(session)
    assert await csrf_of(sessions, cookie) == session.csrf
    await sessions.end(session)
    assert await sessions.find(cookie) is None

    other = await sessions.start()
    forged = f"{other.id}.{'0' * 64}"
    before = reads.count
    assert await sessions.find(forged) is None and await sessions.find(None) is None
    assert reads.count == before
