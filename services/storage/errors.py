"""Store failures: the unreachable store is retryable, a missing object is missing data (services/errors.py)."""

from services.errors import InvalidInput, MissingData, StoreUnavailable

__all__ = ["InvalidObjectKey", "ObjectNotFound", "StoreUnavailable"]


class ObjectNotFound(MissingData):
    """No object under that key."""


class InvalidObjectKey(InvalidInput):
    """The store refused the key itself (a client error, not an outage)."""
