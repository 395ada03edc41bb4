"""PostgresSpanExporter behind the OTel SDK's BatchSpanProcessor, against real PostgreSQL."""

from __future__ import annotations

import time
import uuid

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

from tests.support.db import fetch, snapshot
from tests.support.spans import FixedIds, make_turn
from traceability.exporter import PostgresSpanExporter
from traceability.exporter.devtools.embedded_pg import free_port
from traceability.instrumentation import semconv as sc


def test_batch_span_processor_stores_live_spans(db_dsn: str) -> None:
    exporter = PostgresSpanExporter(db_dsn)
    provider = TracerProvider(id_generator=FixedIds(0xFEED))
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=50))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span(
        "turn", attributes={sc.SPAN_TYPE: sc.SPAN_TYPE_TURN, sc.SOURCE: "sdk", sc.SESSION_ID: "not-a-uuid"}
    ):
        for order in (1, 2):
            with tracer.start_as_current_span(
                "hook Stop",
                attributes={sc.HOOK_TYPE: "Stop", sc.EXECUTION_ORDER: order, sc.SPAN_TYPE: "hook"},
            ):
                time.sleep(0.002)
    provider.shutdown()  # flushes, then shuts the exporter down

    trace = fetch(db_dsn, "SELECT id, source, session_id, session_key, status FROM execution_traces")
    assert trace == [
        {
            "id": uuid.UUID(int=0xFEED),
            "source": "sdk",
            "session_id": uuid.uuid5(uuid.UUID("6f1d8c2e-3b7a-5e4f-9a10-7c2b4d6e8f01"), "not-a-uuid"),
            "session_key": "not-a-uuid",
            "status": "completed",
        }
    ]
    hooks = fetch(
        db_dsn, "SELECT hook_type, execution_order, duration_ms >= 2 AS timed FROM hook_executions ORDER BY 2"
    )
    assert hooks == [
        {"hook_type": "Stop", "execution_order": 1, "timed": True},
        {"hook_type": "Stop", "execution_order": 2, "timed": True},
    ]


def test_replayed_export_changes_nothing(db_dsn: str) -> None:
    spans = make_turn(0xBEEF, hooks=5)
    exporter = PostgresSpanExporter(db_dsn)
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
        before = snapshot(db_dsn)
        assert exporter.export(spans) is SpanExportResult.SUCCESS
        assert exporter.export(list(reversed(spans))) is SpanExportResult.SUCCESS
        assert snapshot(db_dsn) == before
        assert len(before[1]) == 5
    finally:
        exporter.shutdown()


def test_unreachable_database_fails_without_raising_and_shutdown_is_idempotent() -> None:
    exporter = PostgresSpanExporter(f"postgresql://nobody@127.0.0.1:{free_port()}/none", timeout_s=1.5)
    started = time.monotonic()
    assert exporter.export(make_turn(0x1, hooks=1)) is SpanExportResult.FAILURE
    assert time.monotonic() - started < 10
    exporter.shutdown()
    exporter.shutdown()
    assert exporter.export(make_turn(0x2, hooks=1)) is SpanExportResult.FAILURE


def test_no_database_url_fails_every_export(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACEABILITY_DB_URL", raising=False)
    monkeypatch.delenv("TRACEABILITY_DB_URL_EXTERNAL", raising=False)
    exporter = PostgresSpanExporter()
    assert exporter.export(make_turn(0x3, hooks=1)) is SpanExportResult.FAILURE
    exporter.shutdown()
