"""The trainer's broker handlers: one router, one subscriber on the `train` queue."""

from typing import Annotated

from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitMessage, RabbitRouter

from schemas.topology import COMMANDS, DELIVERY_LIMIT, TRAIN
from schemas.training import AdapterTrained, TrainAdapter
from services.errors import FatalError
from services.messaging import delivery_count, describe
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
    except Exception as error:  # retried (DeliveryPolicy), resuming from the last checkpoint
        if last_delivery:
            await trainer.fail(command, f"gave up: {describe(error)}", last_delivery)
        raise
