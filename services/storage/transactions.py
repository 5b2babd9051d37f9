"""Multi-document transactions with the retries that belong in-process, and the rest left to the broker.

MongoDB transactions need a replica set (a single-node one is enough); SecantusDB has them built in.
A write conflict with a concurrent transaction is retried here at once, a few times: the work re-reads
its state. Anything else transient (server unreachable, commit outcome unknown) becomes StoreUnavailable,
so the message is nacked and redelivered after a back-off; handlers are idempotent, so a commit that did
happen before the error counts once.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, ConnectionFailure, OperationFailure, WriteConcernError

from services.storage.errors import StoreUnavailable
from services.storage.mongo import translated_errors

logger = logging.getLogger(__name__)

T = TypeVar("T")

WRITE_CONFLICT = 112
DUPLICATE_KEY = 11000
CONFLICT_ATTEMPTS = 8
CONFLICT_BACKOFF_S = 0.01


class Abort(Exception):
    """Raised by transaction work to roll back without an error (nothing to do after all)."""


class Conflict(Exception):
    """Raised by transaction work that found the documents changed under it: roll back and run it again."""


def is_conflict(error: OperationFailure) -> bool:
    """A concurrent transaction touched the same documents: re-reading and retrying will resolve it."""
    if isinstance(error, ConnectionFailure):
        return False
    if error.code in (WRITE_CONFLICT, DUPLICATE_KEY):
        return True
    if isinstance(error, BulkWriteError):
        return any(item.get("code") == DUPLICATE_KEY for item in error.details.get("writeErrors", []))
    return error.has_error_label("TransientTransactionError")


async def in_transaction(
    client: AsyncMongoClient, work: Callable[[AsyncClientSession], Awaitable[T]], what: str
) -> T | None:
    """Run `work` in one transaction and commit; None if it raised Abort (rolled back)."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        async with translated_errors(what):
            try:
                async with client.start_session() as session, await session.start_transaction():
                    return await work(session)
            except Abort:
                return None
            except Conflict as error:
                logger.info("%s: stale state, running again (attempt %d): %s", what, attempt, error)
            except OperationFailure as error:
                # Only the commit can end this way, and it may have committed: let a redelivery find out.
                if error.has_error_label("UnknownTransactionCommitResult") or isinstance(error, WriteConcernError):
                    raise StoreUnavailable(f"MongoDB commit outcome unknown during {what}: {error}") from error
                if not is_conflict(error):
                    raise
                logger.info("%s: conflict with a concurrent transaction (attempt %d): %s", what, attempt, error)
        # Random spread, so that the transactions that collided do not collide again in step.
        await asyncio.sleep(random.uniform(0, CONFLICT_BACKOFF_S * 2**attempt))
    raise StoreUnavailable(f"{what}: still conflicting after {CONFLICT_ATTEMPTS} attempts")
