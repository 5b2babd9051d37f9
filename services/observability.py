"""What every process tells about itself: Prometheus metrics, OpenTelemetry traces, and trace ids in its logs.

Metrics live in prometheus-client's default registry. The broker side (messages received, processed, published,
by handler and outcome) comes from FastStream's Prometheus middleware, the API's HTTP side from
prometheus-fastapi-instrumentator; the domain's own metrics are defined here, once, and are what
`infra/grafana` charts. Every process serves them, with its health, on `LOGOFORGE_METRICS_PORT` (`MetricsServer`);
the API, when no such port is set, at `/metrics` on its own port.

Traces: FastStream's telemetry middleware carries the W3C trace context in every message's headers, and the
API's requests (and the bot's calls to it) open the first span, so one generation is one trace from the request
to the stored PNG. Spans always carry a trace id (into every log line, see `TraceIds`); they are recorded and
exported only where the standard variables ask for it: `OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP over HTTP) or
`OTEL_TRACES_EXPORTER=otlp|console`. `OTEL_SDK_DISABLED=true` turns tracing off altogether.
"""

import asyncio
import concurrent.futures
import json
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from faststream import FastStream
from opentelemetry import trace
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, MetricsHandler

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

logger = logging.getLogger(__name__)

# Seconds, from a job's acceptance to the first step of its drawing, and of model work.
_WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_MODEL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

QUEUE_WAIT = Histogram(
    "logoforge_queue_wait_seconds",
    "Time from a job's acceptance (its command's occurred_at) to the start of its drawing.",
    buckets=_WAIT_BUCKETS,
)
GENERATION_SECONDS_PER_IMAGE = Histogram(
    "logoforge_generation_seconds_per_image",
    "Model time of one pipeline call divided by the images it drew.",
    buckets=_MODEL_BUCKETS,
)
GENERATION_STEP_SECONDS = Histogram(
    "logoforge_generation_step_seconds",
    "Model time of one pipeline call divided by its denoising steps.",
    buckets=_MODEL_BUCKETS,
)
BATCH_IMAGES = Histogram(
    "logoforge_generation_batch_images",
    "Images drawn by one pipeline call (a batch of concurrent jobs).",
    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32),
)
IMAGES_GENERATED = Counter("logoforge_images_generated", "Images drawn, stored and announced.")
NSFW_FLAGGED = Counter("logoforge_nsfw_flagged", "Images the safety checker flagged.")
JOB_OUTCOMES = Counter(
    "logoforge_job_outcomes", "Generation jobs ended, by the channel they came from.", ["channel", "outcome"]
)
ADAPTER_IN_SERVICE = Gauge(
    "logoforge_adapter_in_service",
    "1 for the LoRA adapter version this generator serves new jobs with ('none': the base model).",
    ["version"],
)
ADAPTER_SWAP_SECONDS = Histogram(
    "logoforge_adapter_swap_seconds",
    "Time to put a promoted adapter in service (fetch and load when not cached).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RATINGS_INGESTED = Counter("logoforge_ratings_ingested", "Ratings recorded, by what became of them.", ["outcome"])
RETRAINING_RUNS = Counter(
    "logoforge_retraining_runs", "LoRA training runs by event: started, succeeded, failed.", ["event"]
)
TRAINING_STEP_SECONDS = Histogram(
    "logoforge_training_step_seconds", "Time of one LoRA training step.", buckets=_MODEL_BUCKETS
)
TRAINING_LOSS = Gauge("logoforge_training_loss", "Loss of the latest LoRA training step.")
DEAD_LETTERS = Counter(
    "logoforge_dead_letters",
    "Messages a consumer dead-lettered itself (invalid, or fatal), by queue. Those the broker dead-letters at "
    "the delivery limit show as the depth of `<queue>.dead` in RabbitMQ's own metrics.",
    ["queue"],
)


def set_adapter_in_service(version: str | None) -> None:
    ADAPTER_IN_SERVICE.clear()
    ADAPTER_IN_SERVICE.labels(version=version or "none").set(1)


def broker_middlewares() -> tuple[Any, ...]:
    """FastStream's telemetry (outermost: its span covers the rest) and Prometheus middlewares for a broker."""
    from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware
    from faststream.rabbit.prometheus import RabbitPrometheusMiddleware

    return (RabbitTelemetryMiddleware(), RabbitPrometheusMiddleware(registry=REGISTRY, app_name="logoforge"))


class MetricsServer:
    """Metrics and health on a port of their own, for a process with no web server (or to keep them off a public one).

    `/metrics`: prometheus-client's registry. `/health/live`: 200 while the process's event loop answers within
    `loop_timeout_s` (a loop blocked by a bug gets the process restarted). `/health/ready`: live, and `ready()` true
    (for a broker process: its connection to RabbitMQ is open). Served by prometheus-client's handler on a thread.
    """

    def __init__(
        self,
        port: int,
        host: str = "0.0.0.0",
        ready: Callable[[], Awaitable[bool]] | None = None,
        loop_timeout_s: float = 5.0,
    ) -> None:
        self.host, self.port = host, port
        self.loop_timeout_s = loop_timeout_s
        self._ready = ready
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        """Start serving; called on the process's event loop, which the health checks then ask."""
        self._loop = asyncio.get_running_loop()
        server = _EndpointsServer((self.host, self.port), _Endpoints)
        server.endpoints = self
        threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
        self._server = server
        self.port = server.server_port
        logger.info("metrics and health at http://%s:%d/", self.host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def health(self, check: str) -> tuple[int, str]:
        """(status, reason) of `live` or `ready`; called on the server's thread."""
        if self._loop is None or self._loop.is_closed():
            return 503, "not started"
        future = asyncio.run_coroutine_threadsafe(self._probe(check), self._loop)
        try:
            ok = future.result(timeout=self.loop_timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return 503, f"event loop did not answer within {self.loop_timeout_s:g} s"
        except Exception as error:  # the readiness check itself failed
            return 503, f"{check} check failed: {error!r}"
        return (200, "ok") if ok else (503, "not connected to RabbitMQ")

    async def _probe(self, check: str) -> bool:
        if check == "ready" and self._ready is not None:
            return await self._ready()
        return True


class _EndpointsServer(ThreadingHTTPServer):
    daemon_threads = True
    endpoints: MetricsServer


class _Endpoints(MetricsHandler):
    server: _EndpointsServer

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path not in ("/health/live", "/health/ready"):
            return super().do_GET()  # the registry, in the format the scraper asks for
        status, reason = self.server.endpoints.health(path.rsplit("/", 1)[1])
        body = json.dumps({"status": "ok" if status == 200 else "unavailable", "detail": reason}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return None


def serve_metrics(app: FastStream, port: int | None, host: str = "0.0.0.0") -> MetricsServer | None:
    """Serve /metrics and /health/* on `port` while `app` runs (None: not at all). Port 0 takes a free one.

    Ready means the app's broker connection is open."""
    if port is None:
        return None
    broker = app.broker

    async def connected() -> bool:
        return broker is not None and await broker.ping(timeout=1.0)

    server = MetricsServer(port, host, ready=connected)

    async def start() -> None:
        server.start()

    async def stop() -> None:
        server.stop()

    app.on_startup(start)
    app.after_shutdown(stop)
    return server


def configure_tracing(service_name: str) -> None:
    """Install the process's tracer provider (see `tracer_provider`)."""
    provider = tracer_provider(service_name)
    if provider is not None:
        trace.set_tracer_provider(provider)


def tracer_provider(service_name: str) -> "TracerProvider | None":
    """A tracer provider from the standard OTEL_* variables (see the module docstring); None when they disable it."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    # Resource.create adds OTEL_RESOURCE_ATTRIBUTES; OTEL_SERVICE_NAME wins over the process's own name.
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service_name})
    exporters = _exporter_names()
    # With nothing to export to, spans are not recorded (ALWAYS_OFF): they still carry a trace id, into the logs and
    # on to the next process, for about a third less than recorded spans cost per message. Otherwise the sampler is
    # OTEL_TRACES_SAMPLER's (parentbased_always_on unless set).
    sampler = ALWAYS_OFF if not exporters and "OTEL_TRACES_SAMPLER" not in os.environ else None
    provider = TracerProvider(resource=resource, sampler=sampler)
    for name in exporters:
        exporter: SpanExporter
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, ...
        elif name == "console":
            exporter = ConsoleSpanExporter()
        else:
            raise ValueError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r}; use otlp, console or none")
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _exporter_names() -> list[str]:
    """Off unless asked for: OTEL_TRACES_EXPORTER, or an OTLP endpoint (which means otlp)."""
    names = os.environ.get("OTEL_TRACES_EXPORTER")
    if names is None:
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        names = "otlp" if endpoint else "none"
    return [name.strip() for name in names.split(",") if name.strip() and name.strip() != "none"]


class TraceIds(logging.Filter):
    """Puts the current trace id (or '-') on every record as `trace_id`, for the log format."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else "-"
        return True


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [trace %(trace_id)s]: %(message)s"


def configure_logging(level: str | int = logging.INFO) -> None:
    """Root logging for a LogoForge process: one stream handler whose lines carry the trace id."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, TraceIds) for existing in handler.filters):
            handler.addFilter(TraceIds())
