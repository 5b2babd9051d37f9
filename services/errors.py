"""The failures workers know, in two families that decide what becomes of a message.

A `FatalError` can never succeed, however often it is tried: the message is dead-lettered at once with
its reason. A `RetryableError` may succeed later: the message goes back to its queue after a back-off.
Each is raised where the failure happens, naming the field or the object; `services.messaging.DeliveryPolicy`
reads nothing but the class. Built-in exceptions are never sorted into either family wholesale: anything
outside both is unexpected (see DeliveryPolicy).
"""


class FatalError(Exception):
    """The message can never succeed: dead-letter it now."""


class InvalidInput(FatalError):
    """The message asks for something that cannot be done (a bad field, a setting this worker refuses)."""


class MissingData(FatalError):
    """Something the message relies on does not exist (an S3 object, a dataset, a record)."""


class RetryableError(Exception):
    """A dependency failed; the same message may succeed later."""


class StoreUnavailable(RetryableError):
    """MongoDB or S3 could not be reached or answered with a server error."""


class BrokerUnavailable(RetryableError):
    """RabbitMQ could not take a publish: the connection or channel is down."""


class DeviceOutOfMemory(RetryableError):
    """The model ran out of device memory; another moment (or another worker) may have enough."""


class NotReady(RetryableError):
    """What the message needs is still being written by another process."""
