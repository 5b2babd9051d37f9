"""Wiring of the generator process: one function assembles it from its adapters."""

import functools
import logging
import socket

from faststream import FastStream
from faststream.rabbit import RabbitBroker
from pymongo import AsyncMongoClient

from schemas.base import new_id
from services import observability
from services.messaging import declare_topology, make_broker, publisher
from services.signing import UrlSigner
from services.storage import mongo
from services.storage.adapters import AdapterRegistry
from services.storage.jobs import JobRepository, create_job_indexes
from services.storage.s3 import ObjectStore
from workers.device import watch_gpu_memory
from workers.generator.adapters import AdapterManager
from workers.generator.handlers import adapter_events_router, cancel_events_router, router
from workers.generator.pipeline import DiffusionModel
from workers.generator.service import Generator
from workers.generator.settings import GeneratorSettings

logger = logging.getLogger(__name__)


def build_generator(
    settings: GeneratorSettings,
    *,
    broker: RabbitBroker | None = None,
    mongo_client: AsyncMongoClient | None = None,
    store: ObjectStore | None = None,
    model: DiffusionModel | None = None,
) -> FastStream:
    """Assemble the generator; the model is loaded in the app's lifespan, never at import."""
    broker = broker or make_broker(settings.rabbit_url, prefetch=settings.queue_prefetch, backoff=settings.backoff)
    broker.include_router(router)
    mongo_client = mongo_client or mongo.connect(settings)
    store = store or ObjectStore.from_settings(settings)
    owns_model = model is None
    model = model or DiffusionModel(settings)
    db = mongo_client[settings.mongo_db]
    worker = f"{socket.gethostname()}-{new_id()[:8]}"
    adapters = AdapterManager(model, AdapterRegistry(db), store, settings.data_dir / "adapters")
    broker.include_router(adapter_events_router(worker))
    broker.include_router(cancel_events_router(worker))
    link = None
    if settings.public_url:
        signer, base_url = UrlSigner(settings.url_signing_key, settings.image_url_ttl_s), settings.public_url
        link = functools.partial(signer.sign, base_url)
    generator = Generator(
        model, JobRepository(db), store, publisher(broker), settings.progress_interval_s, adapters, link
    )
    broker.context.set_global("generator", generator)
    broker.context.set_global("worker", worker)

    async def start_up() -> None:
        await mongo.ensure_indexes(db, [create_job_indexes])
        await store.ensure_bucket()
        if model.pipeline is None:
            await model.load()
        watch_gpu_memory()
        await adapters.start()
        await broker.connect()
        await declare_topology(broker)
        logger.info("generator ready: model %s", model.name)

    async def shut_down() -> None:
        if owns_model:
            await model.close()
        await mongo_client.close()

    # Start-up hooks rather than a lifespan: `run()`, `start()` and TestApp all honour them.
    app = FastStream(broker, on_startup=[start_up], after_shutdown=[shut_down])
    observability.serve_metrics(app, settings.metrics_port, settings.metrics_host)
    return app
