"""The delivery policy's decisions: dead-letter now or retry later, from the error's class alone."""

import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from faststream import ContextRepo
from faststream.exceptions import AckMessage, NackMessage
from pydantic import ValidationError

from schemas.generation import GenerationParams
from schemas.topology import ASSETS, BOT_EVENTS, DEAD_LETTERS, ERROR_HEADER
from services.errors import (
    BrokerUnavailable,
    DeviceOutOfMemory,
    FatalError,
    InvalidInput,
    MissingData,
    NotReady,
    RetryableError,
    StoreUnavailable,
)
from services.messaging import Backoff, Delivery, DeliveryPolicy, Verdict, verdict
from services.storage.errors import ObjectNotFound

FIRST = Delivery(previous=0, redelivered=False, counted=False)
# A quorum queue's redelivery: it counts, so its delivery limit bounds the retries.
COUNTED_AGAIN = Delivery(previous=3, redelivered=True, counted=True)
# A classic per-instance queue's redelivery: nothing counts, nothing limits.
UNCOUNTED_AGAIN = Delivery(previous=0, redelivered=True, counted=False)


def invalid_params() -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        GenerationParams(prompt="a fox", height=500)
    return caught.value


def not_json() -> json.JSONDecodeError:
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(b"{not json")
    return caught.value


FATAL = [
    InvalidInput("params.adapter: unknown adapter version 'x'"),
    MissingData("datasets: unknown dataset 'x'"),
    ObjectNotFound("images/job/0.png"),
]
RETRYABLE = [
    StoreUnavailable("MongoDB unreachable"),
    BrokerUnavailable("RabbitMQ did not take LogoGenerated"),
    DeviceOutOfMemory("drawing: the device ran out of memory"),
    NotReady("image_id: job still being recorded"),
]
UNEXPECTED = [ValueError("bad"), RuntimeError("boom"), LookupError("gone"), KeyError("k"), ZeroDivisionError()]


@pytest.mark.parametrize("error", FATAL, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("delivery", [FIRST, COUNTED_AGAIN, UNCOUNTED_AGAIN])
def test_fatal_errors_are_dead_lettered_at_once(error: Exception, delivery: Delivery):
    assert isinstance(error, FatalError)
    assert verdict(error, delivery) is Verdict.DEAD_LETTER


@pytest.mark.parametrize("make", [invalid_params, not_json, lambda: UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")])
def test_a_message_that_cannot_be_read_is_dead_lettered_at_once(make):
    assert verdict(make(), FIRST) is Verdict.DEAD_LETTER


@pytest.mark.parametrize("error", RETRYABLE, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("delivery", [FIRST, COUNTED_AGAIN, UNCOUNTED_AGAIN])
def test_retryable_errors_are_retried_on_every_queue(error: Exception, delivery: Delivery):
    assert isinstance(error, RetryableError)
    assert verdict(error, delivery) is Verdict.RETRY


@pytest.mark.parametrize("error", UNEXPECTED, ids=lambda e: type(e).__name__)
def test_built_in_errors_are_never_fatal_by_class(error: Exception):
    """ValueError, RuntimeError, LookupError: retried while the queue's delivery limit bounds it."""
    assert verdict(error, FIRST) is Verdict.RETRY
    assert verdict(error, COUNTED_AGAIN) is Verdict.RETRY


@pytest.mark.parametrize("error", UNEXPECTED, ids=lambda e: type(e).__name__)
def test_an_unexpected_error_on_a_queue_without_a_limit_is_dead_lettered_at_its_second_failure(error: Exception):
    assert verdict(error, UNCOUNTED_AGAIN) is Verdict.DEAD_LETTER


# The middleware carrying out the verdict, on stand-ins for the broker and the message.


@dataclass
class RawMessage:
    body: bytes = b'{"correlation_id": "job-1"}'
    routing_key: str = "generate"
    exchange: str = "logoforge.commands"
    content_type: str = "application/json"
    message_id: str = "m-1"
    correlation_id: str = "job-1"
    headers: dict[str, Any] = field(default_factory=dict)
    redelivered: bool = False


@dataclass
class Message:
    raw_message: RawMessage
    message_id: str = "m-1"

    @property
    def headers(self) -> dict[str, Any]:
        return self.raw_message.headers


class Broker:
    def __init__(self) -> None:
        self.published: list[tuple[bytes, dict[str, Any]]] = []

    async def publish(self, body: bytes, **kwargs: Any) -> None:
        self.published.append((body, kwargs))


async def consume(error: Exception, raw: RawMessage, queue: Any = None) -> tuple[BaseException, Broker]:
    broker = Broker()
    context = ContextRepo()
    if queue is not None:  # the subscriber FastStream puts in the context while it handles a message
        context.set_local("handler_", SimpleNamespace(queue=queue))
    policy = DeliveryPolicy(None, context=context, broker=broker, backoff=Backoff(base_s=0, max_s=0))  # type: ignore[arg-type]

    async def handler(msg: Any) -> None:
        raise error

    with pytest.raises((AckMessage, NackMessage)) as settled:
        await policy.consume_scope(handler, Message(raw))  # type: ignore[arg-type]
    return settled.value, broker


async def test_a_fatal_error_is_dead_lettered_with_its_reason_then_acknowledged():
    settled, broker = await consume(InvalidInput("params.height: must be a multiple of 8"), RawMessage())
    assert isinstance(settled, AckMessage)
    [(body, sent)] = broker.published
    assert body == RawMessage().body
    assert sent["exchange"] == DEAD_LETTERS and sent["routing_key"] == "generate"
    assert sent["headers"][ERROR_HEADER] == "InvalidInput: params.height: must be a multiple of 8"


async def test_a_device_out_of_memory_is_sent_back_to_its_queue_not_dead_lettered():
    settled, broker = await consume(DeviceOutOfMemory("drawing"), RawMessage(headers={"x-delivery-count": 2}))
    assert isinstance(settled, NackMessage)
    assert broker.published == []


async def test_an_unexpected_error_is_retried_then_dead_lettered_where_nothing_counts_deliveries():
    first, broker = await consume(RuntimeError("boom"), RawMessage(routing_key="adapter.promoted"))
    assert isinstance(first, NackMessage) and broker.published == []
    second, broker = await consume(RuntimeError("boom"), RawMessage(routing_key="adapter.promoted", redelivered=True))
    assert isinstance(second, AckMessage)
    [(_, sent)] = broker.published
    assert sent["headers"][ERROR_HEADER] == "RuntimeError: boom"


async def test_a_message_two_durable_queues_receive_is_dead_lettered_for_the_one_that_failed():
    generated = RawMessage(exchange="logoforge.events", routing_key="generation.completed")
    _, broker = await consume(InvalidInput("image gone"), generated, queue=ASSETS.queue)
    [(_, sent)] = broker.published
    assert sent["routing_key"] == ASSETS.routing_key  # assets.dead, not bot.events.dead
    _, broker = await consume(InvalidInput("chat gone"), generated, queue=BOT_EVENTS.queue)
    [(_, sent)] = broker.published
    assert sent["routing_key"] == BOT_EVENTS.routing_key


def test_backoff_grows_and_is_capped():
    backoff = Backoff(base_s=0.5, max_s=30)
    assert [backoff.delay_s(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
