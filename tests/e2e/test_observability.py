"""Metrics and traces of a real generation: the API and a generator scraped over HTTP, spans through the broker."""

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from faststream import TestApp
from faststream.rabbit import RabbitBroker
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from logoforge.devstack import free_port, wait_until
from schemas.topology import COMMANDS, GENERATE
from services.api.app import create_app
from services.observability import TraceIds
from services.settings import DEV_API_KEY
from tests.support import ServedApp
from workers.generator.app import build_generator

pytestmark = pytest.mark.asyncio

DASHBOARD = Path(__file__).resolve().parents[2] / "infra/grafana/dashboards/logoforge.json"

SMALL = {"prompt": "a logo of a lighthouse", "seed": 3, "num_images": 2, "height": 64, "width": 64, "num_steps": 3}


class Scrape:
    """One scrape of a /metrics page: samples by name and labels."""

    def __init__(self, text: str) -> None:
        self.samples: dict[tuple[str, frozenset], float] = {}
        self.families: set[str] = set()
        for family in text_string_to_metric_families(text):
            self.families.add(family.name)
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        """The sum over every series of `name` whose labels include `labels` (0 when there is none)."""
        wanted = set(labels.items())
        return sum(value for (sample, have), value in self.samples.items() if sample == name and wanted <= have)


async def scrape(url: str) -> Scrape:
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


@pytest.fixture
async def observed_generator(generator_settings, shared_model):
    settings = generator_settings.model_copy(update={"metrics_port": free_port(), "metrics_host": "127.0.0.1"})
    async with TestApp(build_generator(settings, model=shared_model)):
        yield f"http://127.0.0.1:{settings.metrics_port}/metrics"


async def test_one_generation_moves_the_domain_metrics_by_its_own_amounts(observed_generator, api, client):
    worker_before, api_before = await scrape(observed_generator), await scrape(f"{api.url}/metrics")

    response = await client.post("/generate", json=SMALL)
    assert response.status_code == 200, response.text

    worker, api_after = await scrape(observed_generator), await scrape(f"{api.url}/metrics")

    def moved(name: str, **labels: str) -> float:
        return worker.value(name, **labels) - worker_before.value(name, **labels)

    assert moved("logoforge_images_generated_total") == 2
    assert moved("logoforge_job_outcomes_total", channel="api", outcome="succeeded") == 1
    assert moved("logoforge_job_outcomes_total", outcome="failed") == 0
    assert moved("logoforge_queue_wait_seconds_count") == 1
    assert 0 <= moved("logoforge_queue_wait_seconds_sum") < 60
    assert moved("logoforge_generation_batch_images_count") == 1
    assert moved("logoforge_generation_batch_images_sum") == 2
    assert moved("logoforge_generation_step_seconds_count") == 1
    assert moved("logoforge_generation_seconds_per_image_count") == 1
    assert moved("logoforge_generation_seconds_per_image_sum") > 0
    assert moved("logoforge_nsfw_flagged_total") == 0  # the tiny model has no safety checker
    assert worker.value("logoforge_adapter_in_service", version="none") == 1
    # FastStream's own broker metrics: the generate command consumed once, and the events it published.
    assert moved("faststream_received_messages_total", handler="logoforge.commands.generate") == 1
    assert moved("faststream_published_messages_total", destination="logoforge.events.generation.completed") >= 1
    # The API's HTTP metrics, by route template.
    # Every LogoForge, FastStream and HTTP series the Grafana dashboard charts is one these processes export.
    charted = {
        name
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(?:logoforge|faststream|http)_[a-z_]+\b", target["expr"])
    }
    # A labelled series with no child yet shows only as its family (a counter's family drops `_total`).
    suffixes = ("", "_total", "_bucket", "_sum", "_count")
    exported = {name for name, _ in api_after.samples} | {f + s for f in api_after.families for s in suffixes}
    assert charted - exported <= {"logoforge_gpu_memory_bytes"}  # only on CUDA machines
    requests = api_after.value("http_requests_total", handler="/generate", method="POST", status="2xx")
    assert requests - api_before.value("http_requests_total", handler="/generate", method="POST", status="2xx") == 1


async def test_a_generators_metrics_port_says_it_is_alive_and_connected(observed_generator):
    base = observed_generator.removesuffix("/metrics")
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{base}/health/live")).json()["status"] == "ok"
        assert (await client.get(f"{base}/health/ready")).json() == {"status": "ok", "detail": "ok"}


async def test_a_dead_lettered_command_is_counted_for_its_queue(observed_generator, rabbit_url):
    before = (await scrape(observed_generator)).value("logoforge_dead_letters_total", queue="generate")
    async with RabbitBroker(rabbit_url) as broker:
        await broker.publish(b"not json", exchange=COMMANDS, routing_key=GENERATE.routing_key, correlation_id="j-1")

    async def counted() -> bool:
        scraped = await scrape(observed_generator)
        return scraped.value("logoforge_dead_letters_total", queue="generate") == before + 1

    await wait_until(counted, 30, "counted as dead-lettered")


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span this module's tests make, kept in memory (the global provider is set once per process)."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # keeps nothing more


class Lines(logging.Handler):
    """Keeps records as a process's handler sees them: with the trace id of the moment they were logged."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.addFilter(TraceIds())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_one_generation_is_one_trace_from_the_request_to_the_stored_png(spans, generator, client):
    spans.clear()
    lines, log = Lines(), logging.getLogger("workers.generator.service")
    log.addHandler(lines)
    level, log.level = log.level, logging.INFO

    def finished() -> list:
        return list(spans.get_finished_spans())

    async def consumed() -> bool:  # the generator's span ends once its handler returned
        return any(span.name == "logoforge.commands.generate process" for span in finished())

    try:
        response = await client.post("/generate", json=SMALL)
        assert response.status_code == 200, response.text
        await wait_until(consumed, 10, "the generator's span finished")
    finally:
        log.removeHandler(lines)
        log.setLevel(level)
    job_id = response.json()["job_id"]
    request = next(s for s in finished() if s.name == "POST /generate" and s.kind is trace.SpanKind.SERVER)
    trace_id = request.context.trace_id
    in_trace = {span.name for span in finished() if span.context.trace_id == trace_id}
    # The request publishes the command; the generator consumes it, stores the PNGs and publishes the result.
    assert "logoforge.commands.generate create" in in_trace or "logoforge.commands.generate publish" in in_trace
    assert "logoforge.commands.generate process" in in_trace
    assert "store images" in in_trace
    assert any(name.startswith("logoforge.events.generation.completed") for name in in_trace)

    # The generator's log line for the job carries the same trace id.
    [line] = [record for record in lines.records if job_id in record.getMessage() and "image(s)" in record.getMessage()]
    assert line.trace_id == format(trace_id, "032x")


async def test_an_api_with_a_metrics_port_serves_them_there_and_not_on_its_public_port(api_settings):
    settings = api_settings.model_copy(update={"metrics_port": free_port(), "metrics_host": "127.0.0.1"})
    async with ServedApp(create_app(settings)) as served, httpx.AsyncClient() as client:
        assert (await client.get(f"{served.url}/metrics")).status_code == 404
        await client.get(f"{served.url}/health/live")
        scraped = await scrape(f"http://127.0.0.1:{settings.metrics_port}/metrics")
        assert scraped.value("http_requests_total", handler="/health/live", method="GET", status="2xx") >= 1


async def test_a_job_the_bot_submits_is_one_trace_from_its_api_call_to_the_stored_png(spans, generator, api):
    from bot.api_client import ApiClient
    from bot.settings import BotSettings
    from schemas.generation import GenerationParams

    spans.clear()
    client = ApiClient(BotSettings(api_url=api.url, api_key=DEV_API_KEY))
    try:
        job = await client.submit_job("tg:42", GenerationParams(**SMALL), "bot-trace-1")
    finally:
        await client.close()

    def finished() -> list:
        return list(spans.get_finished_spans())

    async def stored() -> bool:
        return any(span.name == "store images" for span in finished())

    await wait_until(stored, 30, "the job's images stored")
    [call] = [span for span in finished() if span.name == "api POST" and span.kind is trace.SpanKind.CLIENT]
    in_trace = [span for span in finished() if span.context.trace_id == call.context.trace_id]
    [request] = [span for span in in_trace if span.name == "POST /jobs" and span.kind is trace.SpanKind.SERVER]
    assert request.parent is not None and request.parent.span_id == call.context.span_id
    assert "store images" in {span.name for span in in_trace}
    assert job["job_id"]
