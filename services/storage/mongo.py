"""MongoDB through PyMongo's async API: one client per process, indexes created at start-up."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from services.settings import CommonSettings
from services.storage.errors import StoreUnavailable

Document = dict

# Server error codes that say "not now" rather than "never": network trouble, shutdown, not primary,
# interrupted or timed out. A read failing with one of them carries no error label, so test the code.
TRANSIENT_CODES = frozenset({6, 7, 50, 89, 91, 134, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436})
IndexSetup = Callable[[AsyncDatabase], Awaitable[None]]


def connect(settings: CommonSettings, timeout_ms: int = 5000) -> AsyncMongoClient:
    return AsyncMongoClient(
        settings.mongo_url,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        tz_aware=True,
    )


@asynccontextmanager
async def translated_errors(what: str) -> AsyncIterator[None]:
    """Turn network and server trouble into StoreUnavailable; everything else propagates as is."""
    try:
        yield
    except ConnectionFailure as error:
        raise StoreUnavailable(f"MongoDB unreachable during {what}: {error}") from error
    except OperationFailure as error:
        # Fail points and step-downs surface as operation failures with these labels.
        if (
            error.has_error_label("RetryableWriteError")
            or error.has_error_label("TransientTransactionError")
            or error.code in TRANSIENT_CODES
        ):
            raise StoreUnavailable(f"MongoDB failed transiently during {what}: {error}") from error
        raise
    except PyMongoError as error:
        if getattr(error, "timeout", False):
            raise StoreUnavailable(f"MongoDB timed out during {what}: {error}") from error
        raise


async def ensure_indexes(db: AsyncDatabase, setups: Iterable[IndexSetup]) -> None:
    async with translated_errors("index creation"):
        for setup in setups:
            await setup(db)
