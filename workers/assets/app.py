"""Wiring of the assets worker: every LogoGenerated (queue `assets`) and every MakeAssets (`assets.requests`)."""

import functools
import logging
from typing import Annotated

from faststream import Context, FastStream
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitRouter
from pymongo import AsyncMongoClient

from schemas.assets import MakeAssets
from schemas.generation import LogoGenerated
from schemas.topology import ASSET_REQUESTS, ASSETS, COMMANDS, EVENTS
from services import observability
from services.messaging import declare_topology, make_broker, publisher
from services.signing import UrlSigner
from services.storage import mongo
from services.storage.s3 import ObjectStore
from workers.assets.service import AssetMaker, create_asset_indexes
from workers.assets.settings import AssetsSettings

logger = logging.getLogger(__name__)


def make_router() -> RabbitRouter:
    router = RabbitRouter()

    @router.subscriber(ASSETS.queue, EVENTS, ack_policy=AckPolicy.REJECT_ON_ERROR, title="assets-of-new-logos")
    async def logo_generated(event: LogoGenerated, assets: Annotated[AssetMaker, Context("assets")]) -> None:
        """Each image of a job just drawn, in turn; acknowledged once all of them are recorded."""
        for image in event.images:
            await assets.make(image.image_id)

    @router.subscriber(ASSET_REQUESTS.queue, COMMANDS, ack_policy=AckPolicy.REJECT_ON_ERROR, title="make-assets")
    async def make_assets(command: MakeAssets, assets: Annotated[AssetMaker, Context("assets")]) -> None:
        await assets.make(command.image_id)

    return router


def build_assets(
    settings: AssetsSettings,
    *,
    broker: RabbitBroker | None = None,
    mongo_client: AsyncMongoClient | None = None,
    store: ObjectStore | None = None,
) -> FastStream:
    broker = broker or make_broker(settings.rabbit_url, prefetch=settings.assets_prefetch, backoff=settings.backoff)
    broker.include_router(make_router())
    mongo_client = mongo_client or mongo.connect(settings)
    store = store or ObjectStore.from_settings(settings)
    db = mongo_client[settings.mongo_db]
    link = None
    if settings.public_url:
        signer = UrlSigner(settings.url_signing_key, settings.image_url_ttl_s)
        link = functools.partial(signer.sign, settings.public_url)
    broker.context.set_global("assets", AssetMaker(db, store, publisher(broker), link))

    async def start_up() -> None:
        await mongo.ensure_indexes(db, [create_asset_indexes])
        await store.ensure_bucket()
        await broker.connect()
        await declare_topology(broker)
        logger.info("assets worker ready")

    async def shut_down() -> None:
        await mongo_client.close()

    app = FastStream(broker, on_startup=[start_up], after_shutdown=[shut_down])
    observability.serve_metrics(app, settings.metrics_port, settings.metrics_host)
    return app
