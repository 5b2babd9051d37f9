"""Wiring of the HTTP API: one function assembles it from its adapters."""

import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_fastapi_instrumentator import Instrumentator, metrics
from prometheus_fastapi_instrumentator.metrics import Info
from pymongo import AsyncMongoClient
from starlette.routing import Match

from services.api.deps import ApiContext
from services.api.errors import COMMON_RESPONSES, Refusal, refusal_response
from services.api.gateway import BrokerGateway, JobEvents
from services.api.routes import admin, assets, datasets, generate, health, history, jobs, ratings, retrain, static
from services.api.settings import ApiSettings
from services.drive import training as drive_training
from services.drive import views as drive
from services.drive.items import create_drive_indexes
from services.drive.sessions import create_session_indexes
from services.errors import BrokerUnavailable
from services.messaging import make_broker
from services.observability import MetricsServer
from services.signing import UrlSigner
from services.storage import mongo
from services.storage.errors import StoreUnavailable
from services.storage.jobs import create_job_indexes
from services.storage.ratings import create_rating_indexes
from services.storage.s3 import ObjectStore
from services.storage.training_runs import create_training_run_indexes

logger = logging.getLogger(__name__)

ROUTERS = (
    health.router,
    generate.router,
    jobs.router,
    static.router,
    ratings.router,
    history.router,
    retrain.router,
    admin.router,
    assets.router,
)
INDEX_SETUPS = (
    create_job_indexes,
    create_rating_indexes,
    create_training_run_indexes,
    create_drive_indexes,
    create_session_indexes,
    assets.create_asset_request_indexes,
)


def create_app(
    settings: ApiSettings,
    *,
    mongo_client: AsyncMongoClient | None = None,
    store: ObjectStore | None = None,
    gateway: BrokerGateway | None = None,
) -> FastAPI:
    mongo_client = mongo_client or mongo.connect(settings)
    store = store or ObjectStore.from_settings(settings)
    job_events = JobEvents()
    gateway = gateway or BrokerGateway(make_broker(settings.rabbit_url, backoff=settings.backoff), job_events)
    context = ApiContext(
        settings=settings,
        gateway=gateway,
        job_events=gateway.job_events,
        db=mongo_client[settings.mongo_db],
        store=store,
        signer=UrlSigner(settings.url_signing_key, settings.image_url_ttl_s),
    )

    # Metrics on a port of their own where one is set (never reached through the public Ingress or nginx);
    # otherwise at /metrics on the API's port, as under `logoforge dev`.
    metrics_server = None
    if settings.metrics_port is not None:
        metrics_server = MetricsServer(settings.metrics_port, settings.metrics_host)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if metrics_server is not None:
            metrics_server.start()
        await _start_dependencies(context)
        yield
        await gateway.close()
        await mongo_client.close()
        if metrics_server is not None:
            metrics_server.stop()

    # The docs page serves Swagger UI's assets itself: it works where no CDN can be reached.
    app = FastAPIOffline(
        title="LogoForge",
        summary="Logos from text with Stable Diffusion; the broker contract is at /asyncapi.json.",
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=settings.request_max_bytes,
        responses=COMMON_RESPONSES,
    )
    app.state.context = context
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(datasets.router, max_body_size=settings.upload_max_bytes)
    # The drive: its pages, and uploads up to its own file limit (plus room for the form's other fields).
    app.include_router(drive.router, max_body_size=settings.drive_upload_max_bytes + 64 * 1024)
    app.include_router(drive_training.router)
    drive.mount_static(app)
    # Request counts and latencies by route template, beside every other LogoForge metric
    # (services/observability.py); a span per request, whose context the broker carries on.
    instrumentator = Instrumentator(excluded_handlers=["/metrics"]).add(_http_metrics()).instrument(app)
    if metrics_server is None:
        instrumentator.expose(app, include_in_schema=False)
    # One span per request; a span for every ASGI receive and send (a 50 kB upload arrives in many) costs the
    # drive's uploads a measurable share and tells nothing the request's span does not.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/metrics,/health/.*", exclude_spans=["receive", "send"])
    app.add_exception_handler(status.HTTP_405_METHOD_NOT_ALLOWED, _method_not_allowed)
    app.add_exception_handler(Refusal, refusal_response)
    app.add_exception_handler(BrokerUnavailable, _unavailable)
    app.add_exception_handler(StoreUnavailable, _unavailable)
    return app


@functools.cache
def _http_metrics() -> Callable[[Info], None]:
    """The instrumentator's default HTTP metrics, made once per process: every app built here shares them (a second
    `metrics.default()` would find its names taken in the registry and measure nothing)."""
    instrumentation = metrics.default()
    if instrumentation is None:
        raise RuntimeError("the HTTP metrics were registered outside services.api.app")
    return instrumentation


async def _start_dependencies(context: ApiContext) -> None:
    """Prepare what can be prepared; a store or broker that is down is reported by /health/ready, not fatal."""
    try:
        await mongo.ensure_indexes(context.db, INDEX_SETUPS)
    except StoreUnavailable:
        logger.warning("MongoDB unreachable at start-up; indexes will be created by the next start")
    try:
        await context.store.ensure_bucket()
    except StoreUnavailable:
        logger.warning("S3 unreachable at start-up")
    try:
        await context.gateway.ensure_started()
    except BrokerUnavailable:
        logger.warning("RabbitMQ unreachable at start-up; requests get 503 until it is back")


async def _method_not_allowed(request: Request, error: Exception) -> JSONResponse:
    """405 with every method the path has in `Allow` (Starlette names only those of the first route it matched)."""
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in request.app.routes)
    ]
    headers = {"Allow": ", ".join(allowed)}
    return JSONResponse({"detail": "Method Not Allowed"}, status.HTTP_405_METHOD_NOT_ALLOWED, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


async def _unavailable(request: Request, error: Exception) -> JSONResponse:
    """503 in words that fit the request; what failed inside goes to the log, never to the client."""
    logger.warning("503 for %s %s: %s", request.method, request.url.path, error)
    part = "the message broker" if isinstance(error, BrokerUnavailable) else "storage"
    if request.method in ("GET", "HEAD"):
        detail = f"service unavailable: {part} cannot be reached; try again shortly"
    else:
        detail = f"service unavailable: {part} cannot be reached, nothing was accepted; try again shortly"
    return JSONResponse(
        {"detail": detail}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"}
    )
