"""The trainer's broker handlers: TrainAdapter on the `train` queue, PromoteAdapter on `adapters`."""

from typing import Annotated

from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitMessage, RabbitRouter

from schemas.topology import ADAPTERS, COMMANDS, DELIVERY_LIMIT, TRAIN
from schemas.training import AdapterPromoted, AdapterTrained, PromoteAdapter, TrainAdapter
from services.messaging import RETRYABLE, FatalError, delivery_count, describe
from services.storage.adapters import AdapterError
from workers.trainer.service import Trainer

router = RabbitRouter()


@router.subscriber(TRAIN.queue, COMMANDS, ack_policy=AckPolicy.REJECT_ON_ERROR, title="train")
async def train_adapter(
    command: TrainAdapter,
    message: RabbitMessage,
    trainer: Annotated[Trainer, Context("trainer")],
) -> AdapterTrained:
    """Train one run; a redelivered run resumes from its last checkpoint, a finished one is only announced."""
    last_delivery = delivery_count(message) >= DELIVERY_LIMIT
    # Recording a failure may itself fail (MongoDB down): `fail` then raises a retryable error instead.
    try:
        return await trainer.handle(command)
    except FatalError as error:
        await trainer.fail(command, describe(error), last_delivery)
        raise
    except RETRYABLE as error:
        if last_delivery:
            await trainer.fail(command, f"gave up: {describe(error)}", last_delivery)
        raise
    except Exception as error:
        # Anything else (a torch error, out of memory) would fail again the same way: record it, dead-letter.
        await trainer.fail(command, describe(error), last_delivery)
        raise FatalError(describe(error)) from error


@router.subscriber(ADAPTERS.queue, COMMANDS, ack_policy=AckPolicy.REJECT_ON_ERROR, title="adapters")
async def promote_adapter(
    command: PromoteAdapter,
    trainer: Annotated[Trainer, Context("trainer")],
) -> AdapterPromoted:
    """Put a version in service (from the API or another service); unknown versions are dead-lettered."""
    try:
        return await trainer.promote(command.version, command.reason)
    except AdapterError as error:
        raise FatalError(str(error)) from error
