"""The bot's broker side: one subscriber on its durable `bot.events` queue, handing each event to Delivery."""

from typing import Annotated, Any

from faststream import Context
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitMessage, RabbitRouter

from bot.delivery import Delivery
from schemas.assets import LogoAssetsReady
from schemas.generation import (
    GenerationCancelled,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
    LogoGenerated,
)
from schemas.topology import BOT_ASSETS, BOT_EVENTS, EVENTS


async def on_generation_event(
    body: dict[str, Any],
    message: RabbitMessage,
    delivery: Annotated[Delivery, Context("delivery")],
) -> None:
    """Route one generation event by its routing key; acked once Telegram has it (or it is not ours)."""
    routing_key = message.raw_message.routing_key
    if routing_key == GenerationProgress.routing_key:
        await delivery.progress(GenerationProgress.model_validate(body))
    elif routing_key == GenerationStarted.routing_key:
        await delivery.started(GenerationStarted.model_validate(body))
    elif routing_key == LogoGenerated.routing_key:
        await delivery.completed(LogoGenerated.model_validate(body))
    elif routing_key == GenerationFailed.routing_key:
        await delivery.failed(GenerationFailed.model_validate(body))
    elif routing_key == GenerationCancelled.routing_key:
        await delivery.cancelled(GenerationCancelled.model_validate(body))


async def on_assets_ready(event: LogoAssetsReady, delivery: Annotated[Delivery, Context("delivery")]) -> None:
    await delivery.assets_ready(event)


def make_events_router() -> RabbitRouter:
    """The subscribers on a router of their own, so every broker the wiring builds gets a fresh one."""
    router = RabbitRouter()
    router.subscriber(BOT_EVENTS.queue, EVENTS, ack_policy=AckPolicy.REJECT_ON_ERROR, title="bot-events")(
        on_generation_event
    )
    router.subscriber(BOT_ASSETS.queue, EVENTS, ack_policy=AckPolicy.REJECT_ON_ERROR, title="bot-assets")(
        on_assets_ready
    )
    return router
