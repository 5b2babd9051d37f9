"""Tracing is off unless the standard variables ask for it; log lines carry the trace id of their moment."""

import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider

from services.observability import TraceIds, _exporter_names, tracer_provider

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


def test_spans_are_not_recorded_when_nothing_exports_them_yet_carry_a_trace_id(monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    provider = tracer_provider("logoforge-test")
    assert provider is not None and provider.resource.attributes["service.name"] == "logoforge-test"
    with provider.get_tracer(__name__).start_as_current_span("work") as span:
        assert not span.is_recording() and span.get_span_context().is_valid


def test_an_exporter_records_spans_under_the_service_name_it_is_given(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "generator-eu-1")
    provider = tracer_provider("logoforge-generator")
    assert provider is not None and provider.resource.attributes["service.name"] == "generator-eu-1"
    with provider.get_tracer(__name__).start_as_current_span("work") as span:
        assert span.is_recording()
    provider.shutdown()


def test_tracing_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracer_provider("logoforge-api") is None


def test_an_unknown_exporter_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(ValueError, match="OTEL_TRACES_EXPORTER"):
        tracer_provider("logoforge-api")
