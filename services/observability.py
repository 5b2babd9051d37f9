"""What every process tells about itself: Prometheus metrics, OpenTelemetry traces, and trace ids in its logs.

Metrics live in prometheus-client's default registry. The broker side (messages received, processed, published,
by handler and outcome) comes from FastStream's Prometheus middleware, the API's HTTP side from
prometheus-fastapi-instrumentator; the domain's own metrics are defined here, once, and are what
`infra/grafana` charts. The API serves them at `/metrics`; every other process on `LOGOFORGE_METRICS_PORT`.

Traces: FastStream's telemetry middleware carries the W3C trace context in every message's headers, and the
API's requests open the first span, so one generation is one trace from the request (or the bot's command) to
the stored PNG. Spans are always made (the trace id goes into every log line), and exported only where the
standard variables ask for it: `OTEL_TRACES_EXPORTER=otlp` (with `OTEL_EXPORTER_OTLP_ENDPOINT`) or `console`.
`OTEL_SDK_DISABLED=true` turns tracing off altogether.
"""

import logging
import os
from typing import TYPE_CHECKING, Any

from faststream import FastStream
from opentelemetry import trace
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server

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
    """prometheus-client's own HTTP server for a process that has no web server of its own."""

    def __init__(self, port: int, host: str = "0.0.0.0") -> None:
        self.host, self.port = host, port
        self._server: Any = None

    def start(self) -> None:
        self._server, _thread = start_http_server(self.port, addr=self.host)
        self.port = self._server.server_port
        logger.info("metrics at http://%s:%d/metrics", self.host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def serve_metrics(app: FastStream, port: int | None, host: str = "0.0.0.0") -> MetricsServer | None:
    """Serve /metrics on `port` while `app` runs (None: not at all). Port 0 takes a free one."""
    if port is None:
        return None
    server = MetricsServer(port, host)

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
