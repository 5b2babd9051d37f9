"""Wiring of the ratings process: one function assembles it from its adapters."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faststream import FastStream
from faststream.rabbit import RabbitBroker
from pymongo import AsyncMongoClient

from services import observability
from services.messaging import declare_topology, make_broker, publisher
from services.ratings.handlers import router
from services.ratings.service import RatingsService
from services.ratings.settings import RatingsSettings
from services.ratings.trigger import RetrainTrigger, claim_policy
from services.storage import mongo
from services.storage.rateable import RateableImageCache
from services.storage.rating_state import KnownState
from services.storage.ratings import RatingStore, create_rating_indexes
from services.storage.training_runs import TrainingRunStore, create_training_run_indexes

logger = logging.getLogger(__name__)

INDEX_SETUPS = (create_rating_indexes, create_training_run_indexes)


def build_ratings(
    settings: RatingsSettings,
    *,
    broker: RabbitBroker | None = None,
    mongo_client: AsyncMongoClient | None = None,
) -> FastStream:
    """Assemble the ratings service: the `ratings` queue consumer, its stores and the retraining trigger."""
    # Per-message "received/processed" lines at DEBUG: at thousands of ratings a second they would cost
    # as much CPU as the work; failures are still logged as warnings and errors.
    broker = broker or make_broker(
        settings.rabbit_url, prefetch=settings.ratings_prefetch, backoff=settings.backoff, log_level=logging.DEBUG
    )
    broker.include_router(router)
    mongo_client = mongo_client or mongo.connect(settings)
    db = mongo_client[settings.mongo_db]

    publish = publisher(broker)
    trigger = RetrainTrigger(TrainingRunStore(db), publish, claim_policy(settings), settings.retrain_publish_lease_s)
    service = RatingsService(
        RateableImageCache(db), RatingStore(db, KnownState()), publish, trigger, settings.ratings_batch_size
    )
    broker.context.set_global("ratings", service)

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await mongo.ensure_indexes(db, INDEX_SETUPS)
        await broker.connect()
        await declare_topology(broker)
        # A threshold reached, or a run recorded but left unpublished, while no ratings service ran.
        await service.check_trigger()
        logger.info(
            "ratings service ready (quality bar %.2f, %d images start a run)",
            settings.retrain_quality_bar,
            settings.retrain_min_images,
        )
        yield
        await service.close()
        await mongo_client.close()

    app = FastStream(broker, lifespan=lifespan)
    observability.serve_metrics(app, settings.metrics_port, settings.metrics_host)
    return app
