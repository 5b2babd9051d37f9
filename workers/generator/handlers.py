"""The generator's broker handlers: one router, one subscriber on the `generate` queue."""

from typing import Annotated

from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitMessage, RabbitRouter

from schemas.generation import GenerateLogo, LogoGenerated
from schemas.topology import COMMANDS, DELIVERY_LIMIT, GENERATE
from services.messaging import RETRYABLE, FatalError, delivery_count, describe
from workers.generator.service import Generator

router = RabbitRouter()


@router.subscriber(GENERATE.queue, COMMANDS, ack_policy=AckPolicy.REJECT_ON_ERROR, title="generate")
async def generate_logo(
    command: GenerateLogo,
    message: RabbitMessage,
    generator: Annotated[Generator, Context("generator")],
) -> LogoGenerated:
    """Draw the logos of one job; redelivery of a finished job only announces it again."""
    try:
        return await generator.handle(command)
    except FatalError as error:
        await generator.fail(command.correlation_id, describe(error), "invalid", command)
        raise
    except RETRYABLE as error:
        if delivery_count(message) >= DELIVERY_LIMIT:
            # The broker dead-letters this delivery when it comes back; tell whoever waits now.
            await generator.fail(command.correlation_id, f"gave up: {describe(error)}", "error", command)
        raise
