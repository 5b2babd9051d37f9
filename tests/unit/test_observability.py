"""Tracing is off unless the standard variables ask for it; log lines carry the trace id of their moment."""

import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider

from services.observability import TraceIds, _exporter_names

OTEL = ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


@pytest.fixture(autouse=True)
def no_otel(monkeypatch):
    for name in OTEL:
        monkeypatch.delenv(name, raising=False)


def test_nothing_is_exported_by_default():
    assert _exporter_names() == []


@pytest.mark.parametrize("variable", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
def test_an_otlp_endpoint_means_otlp(monkeypatch, variable):
    monkeypatch.setenv(variable, "http://collector:4318")
    assert _exporter_names() == ["otlp"]


def test_the_exporter_variable_wins(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert _exporter_names() == []
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console, otlp")
    assert _exporter_names() == ["console", "otlp"]


def record() -> logging.LogRecord:
    return logging.LogRecord("x", logging.INFO, __file__, 1, "a line", None, None)


def test_a_line_outside_any_span_says_so():
    line = record()
    TraceIds().filter(line)
    assert line.trace_id == "-"


def test_a_line_inside_a_span_carries_its_trace_id():
    tracer = TracerProvider().get_tracer(__name__)
    with tracer.start_as_current_span("work") as span:
        line = record()
        TraceIds().filter(line)
    assert line.trace_id == format(span.get_span_context().trace_id, "032x")
    assert len(line.trace_id) == 32
