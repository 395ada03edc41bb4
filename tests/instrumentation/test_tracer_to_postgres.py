"""End to end: ExecutionTracer -> BatchSpanProcessor -> PostgresSpanExporter -> rows, field by field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from importlib.metadata import version

import asyncpg
import pytest

from tests.support.span_dicts import MS, FixedClock, IncrementalIds
from traceability.exporter import PostgresSpanExporter
from traceability.exporter.storage.values import ROW_NAMESPACE
from traceability.instrumentation.ids import turn_span_id
from traceability.instrumentation.tracer import ExecutionTracer

SESSION = "8bbcceab-0b3e-4e24-98c9-ec146b1ca8c6"
CORR = "6f9619ff-8b86-4011-b42d-00c04fc964ff"
FAILED_CORR = "11111111-1111-4111-8111-111111111111"
LINKED_CORR = "22222222-2222-4222-8222-222222222222"
_T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(ns_after_t0: int) -> datetime:
    return _T0 + timedelta(microseconds=ns_after_t0 // 1000)


def _span_hex(corr: str) -> str:
    return f"{turn_span_id(uuid.UUID(corr).int):016x}"


async def test_tracer_spans_become_rows(db_dsn: str, db_pool: asyncpg.Pool) -> None:
    tracer = ExecutionTracer(
        span_exporter=PostgresSpanExporter(db_dsn),
        id_generator=IncrementalIds(),
        clock=FixedClock(),
        service_name="e2e-hooks",
    )
    corr = await tracer.start_trace(
        "user-prompt-submit",
        "Implement authentication system",
        SESSION,
        CORR,
        context={"cwd": "/work/app"},
        tags=["authentication", "backend"],
        user_id="dev",
    )  # starts at T0 (the clock ticks 1 ms per call)
    await tracer.track_hook_execution(
        corr,
        "quality-enforcer",
        "Write",
        125.5,
        True,
        quality_results={"violations_found": 3, "corrections_applied": 2, "quality_score": 0.85},
        quality_check_performed=True,
        file_path="/work/app/auth.py",
        input_data={"content": "def f():\x00 pass"},
        metadata={"mode": "warn"},
    )  # ends at T0+1ms
    try:
        raise TimeoutError("rag service timed out")
    except TimeoutError as exc:
        rag_error = exc
    await tracer.track_hook_execution(
        corr,
        "rag-intelligence",
        "Write",
        500.0,
        False,
        rag_query_performed=True,
        rag_results={"matches": 0, "error": "timeout"},
        error=rag_error,
    )  # ends at T0+2ms
    await tracer.complete_trace(corr, success=True)  # T0+3ms
    failed = await tracer.start_trace("pre-tool-use", "p", "not-a-uuid-session", FAILED_CORR)  # T0+4ms
    await tracer.complete_trace(failed, success=False, error=ValueError("bad input"))  # T0+5ms
    await tracer.shutdown()
    assert (await tracer.health_check()).exported_spans == 4

    traces = {
        str(r["id"]): dict(r)
        for r in await db_pool.fetch("SELECT * FROM execution_traces ORDER BY started_at")
    }
    assert sorted(traces) == sorted([CORR, FAILED_CORR])
    ok = traces[CORR]
    attributes, resource = ok.pop("attributes"), ok.pop("resource")
    for column in ("created_at", "updated_at"):
        ok.pop(column)
    assert ok == {
        "id": uuid.UUID(CORR),
        "links": None,  # no TRACEPARENT from another trace: no link
        "correlation_id": uuid.UUID(CORR),
        "root_id": uuid.UUID(CORR),
        "parent_id": None,
        "session_id": uuid.UUID(SESSION),
        "user_id": "dev",
        "source": "user-prompt-submit",
        "prompt_text": "Implement authentication system",
        "started_at": at(2 * MS - 500 * MS),  # the 500 ms RAG hook that ended at +2 ms started here
        "completed_at": at(3 * MS),
        "duration_ms": 501,
        "status": "completed",
        "success": True,
        "error_message": None,
        "error_type": None,
        "context": {"cwd": "/work/app"},
        "tags": ["authentication", "backend"],
        "otel_trace_id": CORR.replace("-", ""),
        "root_span_id": _span_hex(CORR),
        "session_key": None,
        "prompt_id": None,
        "service_name": "e2e-hooks",
        "span_name": "claude_code.turn",
        "status_code": "UNSET",
        "status_message": None,
        "root_received": True,
        "native_trace_id": None,  # no Claude Code telemetry joined to this trace
    }
    assert attributes["traceability.prompt.length"] == 31
    assert (resource["service.name"], resource["service.version"]) == (
        "e2e-hooks",
        version("pattern-traceability"),
    )

    bad = traces[FAILED_CORR]
    assert (bad["status"], bad["success"], bad["error_message"], bad["error_type"]) == (
        "failed", False, "bad input", "ValueError",
    )  # fmt: skip
    assert (bad["status_code"], bad["session_key"], bad["started_at"], bad["duration_ms"]) == (
        "ERROR", "not-a-uuid-session", at(4 * MS), 1,
    )  # fmt: skip
    assert bad["session_id"] == uuid.uuid5(ROW_NAMESPACE, "not-a-uuid-session")

    hooks = [dict(r) for r in await db_pool.fetch("SELECT * FROM hook_executions ORDER BY execution_order")]
    assert len(hooks) == 2
    for row in hooks:
        # ingest_xid: the id of the transaction that stored the row (the deriver's commit-order watermark)
        for column in ("id", "created_at", "updated_at", "attributes", "resource", "ingest_xid"):
            row.pop(column)
        assert row.pop("links") is None  # hook spans carry no links
    quality, rag = hooks
    assert quality == {
        "trace_id": uuid.UUID(CORR),
        "hook_type": "Unknown",
        "hook_name": "quality-enforcer",
        "execution_order": 1,
        "tool_name": "Write",
        "file_path": "/work/app/auth.py",
        "started_at": at(MS - 125_500_000),
        "completed_at": at(MS),
        "duration_ms": 126,  # 125.5 ms, rounded by the exporter
        "status": "completed",
        "input_data": {"content": "def f():\ufffd pass"},  # NUL sanitized, not dropped
        "output_data": None,
        "modifications_made": None,
        "rag_query_performed": False,
        "rag_results": None,
        "quality_check_performed": True,
        "quality_results": {"violations_found": 3, "corrections_applied": 2, "quality_score": 0.85},
        "error_message": None,
        "error_type": None,
        "error_stack": None,
        "metadata": {"mode": "warn"},
        "span_id": f"{1:016x}",
        "parent_span_id": _span_hex(CORR),
        "span_name": "hook quality-enforcer",
        "span_kind": "INTERNAL",
        "span_type": "hook",
        "status_code": "UNSET",
        "status_message": None,
        "session_id": SESSION,
        "prompt_id": None,
        "tool_use_id": None,
        "agent_id": None,
        "tool_duration_ms": None,
        "quality_score": 0.85,
        "success": True,
        "service_name": "e2e-hooks",
        "events": None,
    }
    events = rag.pop("events")
    stack = rag.pop("error_stack")
    assert 'raise TimeoutError("rag service timed out")' in stack
    assert [e["name"] for e in events] == ["exception"]
    assert events[0]["attributes"]["exception.type"] == "TimeoutError"
    assert rag == {
        **{k: quality[k] for k in ("trace_id", "tool_name", "parent_span_id", "span_kind", "span_type")},
        **{k: quality[k] for k in ("session_id", "prompt_id", "tool_use_id", "agent_id", "service_name")},
        "hook_type": "Unknown",
        "hook_name": "rag-intelligence",
        "execution_order": 2,
        "file_path": None,
        "started_at": at(2 * MS - 500 * MS),
        "completed_at": at(2 * MS),
        "duration_ms": 500,
        "status": "failed",
        "input_data": None,
        "output_data": None,
        "modifications_made": None,
        "rag_query_performed": True,
        "rag_results": {"matches": 0, "error": "timeout"},
        "quality_check_performed": False,
        "quality_results": None,
        "error_message": "rag service timed out",
        "error_type": "TimeoutError",
        "metadata": None,
        "span_id": f"{2:016x}",
        "span_name": "hook rag-intelligence",
        "status_code": "ERROR",
        "status_message": "rag service timed out",
        "tool_duration_ms": None,
        "quality_score": None,
        "success": False,
    }


async def test_a_turn_linked_to_a_foreign_traceparent_keeps_its_link_in_postgres(
    db_dsn: str, db_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TRACEPARENT from another trace becomes a span link (not a parent); the row stores it."""
    linked_trace, linked_span = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    monkeypatch.setenv("TRACEPARENT", f"00-{linked_trace}-{linked_span}-01")
    tracer = ExecutionTracer(
        span_exporter=PostgresSpanExporter(db_dsn), id_generator=IncrementalIds(), clock=FixedClock()
    )
    corr = await tracer.start_trace("user-prompt-submit", "linked turn", SESSION, LINKED_CORR)
    await tracer.complete_trace(corr, success=True)
    await tracer.shutdown()
    links = await db_pool.fetchval("SELECT links FROM execution_traces WHERE id = $1", uuid.UUID(corr))
    assert links == [{"trace_id": linked_trace, "span_id": linked_span, "attributes": {}}]
