"""Store failures, sorted into the two kinds the pipeline treats differently."""


class StoreUnavailable(Exception):
    """The store could not be reached or answered with a server error: retry later."""


class ObjectNotFound(Exception):
    """No object under that key."""


class InvalidObjectKey(ValueError):
    """The store refused the key itself (a client error, not an outage)."""
