"""Rating buttons: 1-5 stars for one delivered image, published as RateLogo for the ratings service."""

from aiogram import Router
from aiogram.types import CallbackQuery
from aiogram_i18n import I18nContext
from faststream.rabbit import RabbitBroker

from bot.generation import requester_id
from bot.handlers.results import delivered_image
from bot.jobs import BotJobRepository
from bot.keyboards import RateCB
from schemas.ratings import RateLogo
from services.messaging import publish


async def rate(
    query: CallbackQuery, callback_data: RateCB, jobs: BotJobRepository, broker: RabbitBroker, i18n: I18nContext
) -> None:
    job = await jobs.owned(callback_data.job, query.from_user.id)
    image = delivered_image(job, callback_data.index)
    await publish(
        broker,
        RateLogo(
            correlation_id=job["_id"],
            image_id=image["image_id"],
            user_id=requester_id(query.from_user.id),
            score=callback_data.score,
        ),
    )
    await query.answer(i18n("rated", number=callback_data.index + 1, stars="★" * callback_data.score))


def make_router() -> Router:
    """The rating feature's handlers, on a router of their own (one per dispatcher)."""
    router = Router(name="rating")
    router.callback_query.register(rate, RateCB.filter())
    return router
