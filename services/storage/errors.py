"""Store failures: the unreachable store is retryable, a missing object is missing data (services/errors.py)."""

from services.errors import MissingData, StoreUnavailable

__all__ = ["ObjectNotFound", "StoreUnavailable"]


class ObjectNotFound(MissingData):
    """No object under that key."""
