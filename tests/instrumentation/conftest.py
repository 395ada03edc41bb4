"""Fixtures for the instrumentation tests: a clean correlation/OTel environment, fixed ids and time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.span_dicts import FixedClock, IncrementalIds
from traceability.instrumentation.tracer import ExecutionTracer

# Variables that would change where or how the tracer exports, cleared for every test.
_ENV = (
    "CORRELATION_ID", "ROOT_ID", "PARENT_ID", "TRACEPARENT", "TRACESTATE", "BAGGAGE",
    "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
    "TRACEABILITY_SPOOL_DIR", "OTEL_TRACES_SAMPLER", "OTEL_SDK_DISABLED",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def memory() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(memory: InMemorySpanExporter) -> Iterator[ExecutionTracer]:
    """A tracer with incremental ids, a clock that ticks 1 ms per call, and synchronous export."""
    tracer = ExecutionTracer(
        span_processor=SimpleSpanProcessor(memory),
        id_generator=IncrementalIds(),
        clock=FixedClock(),
        service_name="tracer-test",
        service_version="9.9.9",
    )
    yield tracer
    tracer._shutdown_now()
