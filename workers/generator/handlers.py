"""The generator's broker handlers: one router, one subscriber on the `generate` queue."""

import json
import logging
from typing import Annotated

from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitMessage, RabbitRouter
from pydantic import ValidationError

from schemas.generation import FailureKind, GenerateLogo, GenerationCancelled, LogoGenerated
from schemas.topology import COMMANDS, DELIVERY_LIMIT, GENERATE, generator_adapter_events, generator_cancel_events
from schemas.training import AdapterLoaded, AdapterPromoted
from services.errors import FatalError, InvalidInput
from services.messaging import delivery_count, describe, job_named
from workers.generator.service import Generator

logger = logging.getLogger(__name__)
router = RabbitRouter()


@router.subscriber(GENERATE.queue, COMMANDS, ack_policy=AckPolicy.REJECT_ON_ERROR, title="generate")
async def generate_logo(
    message: RabbitMessage,
    generator: Annotated[Generator, Context("generator")],
) -> LogoGenerated | None:
    """Draw the logos of one job; redelivery of a finished job only announces it again.

    The body is decoded and validated here rather than by the framework, so that a sender whose command
    is unreadable or invalid still hears `generation.failed` for the job it names, in its body or in the
    AMQP correlation id (the broker contract at /asyncapi.json documents the type).
    """
    raw = message.raw_message
    try:
        command = GenerateLogo.model_validate(_with_job_id(_json_object(raw.body), raw.correlation_id))
    except (InvalidInput, ValidationError) as error:
        job_id = job_named(raw.body, raw.correlation_id)
        if job_id:
            await generator.fail(job_id, describe(error), "invalid")
        raise
    try:
        return await generator.handle(command, first_delivery=not message.raw_message.redelivered)
    except FatalError as error:
        kind: FailureKind = "invalid" if isinstance(error, InvalidInput) else "error"
        await generator.fail(command.correlation_id, describe(error), kind, command)
        raise
    except Exception as error:  # retried (DeliveryPolicy): only the last delivery is the job's end
        if delivery_count(message) >= DELIVERY_LIMIT:
            # The broker dead-letters this delivery when it comes back; tell whoever waits now.
            await generator.fail(command.correlation_id, f"gave up: {describe(error)}", "error", command)
        raise


def _json_object(body: bytes) -> dict:
    try:
        decoded = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        raise InvalidInput("body is not JSON") from None
    if not isinstance(decoded, dict):
        raise InvalidInput(f"body is JSON but not an object (got {type(decoded).__name__})")
    return decoded


def _with_job_id(body: dict, amqp_correlation_id: str | None) -> dict:
    """The job is the body's `correlation_id`; a body without one takes the AMQP correlation id instead."""
    if "correlation_id" not in body and amqp_correlation_id:
        return {**body, "correlation_id": amqp_correlation_id}
    return body


def adapter_events_router(worker: str) -> RabbitRouter:
    """This generator's own queue for AdapterPromoted: every generator hears every promotion.

    Exclusive and auto-delete: it lives as long as this process's connection. A generator that was
    down during a promotion reads the adapter in service from MongoDB when it starts.
    """
    events_router = RabbitRouter()
    queue = generator_adapter_events(worker)

    @events_router.subscriber(queue.queue, queue.exchange, title="adapter-promoted")
    async def adapter_promoted(
        event: AdapterPromoted, generator: Annotated[Generator, Context("generator")]
    ) -> AdapterLoaded:
        """Load the promoted adapter between jobs; later jobs run with it."""
        if generator.adapters is None:  # build_generator always gives one; a Generator built without serves none
            raise InvalidInput(f"version: this generator serves no adapters, got {event.version!r}")
        await generator.adapters.switch(event.version, event.s3_key)
        loaded = AdapterLoaded(correlation_id=event.version or "none", version=event.version, worker=worker)
        await generator.publish(loaded)
        return loaded

    return events_router


def cancel_events_router(worker: str) -> RabbitRouter:
    """This generator's own queue of cancellations (exclusive, auto-delete, like its adapter events queue):
    the generator drawing a cancelled job stops it; the others have nothing to do."""
    events_router = RabbitRouter()
    queue = generator_cancel_events(worker)

    @events_router.subscriber(queue.queue, queue.exchange, title="generation-cancelled")
    async def generation_cancelled(
        event: GenerationCancelled, generator: Annotated[Generator, Context("generator")]
    ) -> None:
        """Stop the job if it is being drawn here; a command still queued is skipped when it arrives."""
        if generator.cancel(event.correlation_id):
            logger.info("job %s: cancelled while drawn here", event.correlation_id)

    return events_router
