"""Wiring of the trainer process: one function assembles it from its adapters."""

import logging

from faststream import FastStream
from faststream.rabbit import RabbitBroker
from pymongo import AsyncMongoClient

from services import observability
from services.messaging import declare_topology, make_broker, publisher
from services.storage import mongo
from services.storage.adapters import AdapterRegistry
from services.storage.s3 import ObjectStore
from services.storage.training_runs import TrainingRunStore, create_training_run_indexes
from workers.trainer.handlers import router
from workers.trainer.service import ModelThread, Trainer
from workers.trainer.settings import TrainerSettings

logger = logging.getLogger(__name__)


def build_trainer(
    settings: TrainerSettings,
    *,
    broker: RabbitBroker | None = None,
    mongo_client: AsyncMongoClient | None = None,
    store: ObjectStore | None = None,
    thread: ModelThread | None = None,
) -> FastStream:
    """Assemble the trainer. One run at a time (prefetch 1): a run owns the accelerator."""
    broker = broker or make_broker(settings.rabbit_url, prefetch=1, backoff=settings.backoff)
    broker.include_router(router)
    mongo_client = mongo_client or mongo.connect(settings)
    store = store or ObjectStore.from_settings(settings)
    owns_thread = thread is None
    thread = thread or ModelThread(settings.torch_threads)
    db = mongo_client[settings.mongo_db]
    trainer = Trainer(settings, db, store, publisher(broker), thread, TrainingRunStore(db), AdapterRegistry(db))
    broker.context.set_global("trainer", trainer)

    async def start_up() -> None:
        await mongo.ensure_indexes(db, [create_training_run_indexes])
        await store.ensure_bucket()
        await broker.connect()
        await declare_topology(broker)
        logger.info("trainer ready on %s", settings.device)

    async def shut_down() -> None:
        if owns_thread:
            thread.close()
        await mongo_client.close()

    # Start-up hooks rather than a lifespan, as the generator: `run()`, `start()` and TestApp all honour them.
    app = FastStream(broker, on_startup=[start_up], after_shutdown=[shut_down])
    observability.serve_metrics(app, settings.metrics_port, settings.metrics_host)
    return app
