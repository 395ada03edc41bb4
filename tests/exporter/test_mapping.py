"""Span -> row mapping, asserted as whole dicts with fixed ids and times."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from traceability.exporter.codec.records import AttrValue, SpanEventRecord, SpanRecord
from traceability.exporter.codec.traces import decode_request
from traceability.exporter.storage.mapping import (
    HOOK_COLUMNS,
    TRACE_COLUMNS,
    hook_row,
    map_spans,
    trace_row,
)
from traceability.exporter.storage.values import ROW_NAMESPACE, clean_text, row_uuid, strict_loads
from traceability.instrumentation import semconv as sc

TRACE = "5b8efff798038103d269b633813fc60c"


def span(span_id: str, parent: str | None, **attrs: AttrValue) -> SpanRecord:
    return SpanRecord(
        trace_id=TRACE, span_id=span_id, parent_span_id=parent, name="s", kind="INTERNAL",
        start_time_unix_nano=1_000_000_000, end_time_unix_nano=1_250_000_000, status_code="UNSET",
        status_message="", attributes=attrs, events=(), resource={sc.SERVICE_NAME: "svc"},
    )  # fmt: skip


def test_clean_text_replaces_nul_and_lone_surrogates() -> None:
    assert clean_text("a\x00b") == "a\ufffdb"
    assert clean_text("x\ud800y") == "x?y"
    assert clean_text("plain ascii") == "plain ascii"
    assert clean_text("ünïcode ✓") == "ünïcode ✓"


def test_turn_attribute_marks_the_root_even_with_a_remote_parent() -> None:
    batch = map_spans([span("00000000000000aa", "00000000000000ff", **{sc.SPAN_TYPE: sc.SPAN_TYPE_TURN})])
    assert len(batch.roots) == 1 and not batch.hooks and not batch.placeholders


def test_orphan_child_gets_a_placeholder_trace() -> None:
    batch = map_spans([span("00000000000000bb", "00000000000000aa", **{sc.SESSION_ID: "s-1"})])
    assert not batch.roots and len(batch.hooks) == 1
    placeholder = dict(zip(TRACE_COLUMNS, batch.placeholders[0].values, strict=True))
    assert placeholder["status"] == "in_progress" and placeholder["source"] == "unknown"
    assert placeholder["session_key"] == "s-1"


def test_hook_row_fields() -> None:
    exc = SpanEventRecord(
        "exception",
        1_100_000_000,
        {sc.EXCEPTION_TYPE: "KeyError", sc.EXCEPTION_MESSAGE: "k", sc.EXCEPTION_STACKTRACE: "tb"},
    )
    record = SpanRecord(
        trace_id=TRACE, span_id="00000000000000cc", parent_span_id="00000000000000aa", name="execute_tool Write",
        kind="INTERNAL", start_time_unix_nano=1_000_000_000, end_time_unix_nano=1_250_000_000,
        status_code="ERROR", status_message="", events=(exc,), resource={},
        attributes={
            sc.SPAN_TYPE: sc.SPAN_TYPE_TOOL, sc.GEN_AI_TOOL_NAME: "Write", sc.STATUS: sc.STATUS_BLOCKED,
            sc.DURATION_MS: 42, sc.RAG_MATCHES: 5, sc.RAG_CONFIDENCE: 0.9, sc.METADATA: "not json {",
            sc.TAGS: ("a",),
        },
    )  # fmt: skip
    row = dict(zip(HOOK_COLUMNS, hook_row(record).values, strict=True))
    assert row["id"] == uuid.uuid5(
        uuid.UUID("6f1d8c2e-3b7a-5e4f-9a10-7c2b4d6e8f01"), TRACE + "00000000000000cc"
    )
    assert {
        k: row[k] for k in ("hook_type", "hook_name", "status", "success", "tool_duration_ms", "duration_ms")
    } == {
        "hook_type": "tool",
        "hook_name": "execute_tool Write",
        "status": "blocked",
        "success": False,
        "tool_duration_ms": 42.0,
        "duration_ms": 250,
    }
    assert (row["error_type"], row["error_message"], row["error_stack"]) == ("KeyError", "k", "tb")
    assert json.loads(row["rag_results"]) == {"matches": 5, "confidence": 0.9}
    assert row["rag_query_performed"] is True and row["quality_check_performed"] is False
    assert json.loads(row["metadata"]) == "not json {"
    assert json.loads(row["attributes"])[sc.TAGS] == ["a"]


def test_trace_row_failed_status_from_span_status() -> None:
    record = span("00000000000000aa", None, **{sc.SESSION_ID: "8bbcceab-0b3e-4e24-98c9-ec146b1ca8c6"})
    failed = SpanRecord(
        **{
            **{f: getattr(record, f) for f in record.__slots__},
            "status_code": "ERROR",
            "status_message": "bad",
        }
    )
    row = dict(zip(TRACE_COLUMNS, trace_row(failed).values, strict=True))
    assert (row["status"], row["success"], row["error_message"]) == ("failed", False, "bad")
    assert (
        row["session_id"] == uuid.UUID("8bbcceab-0b3e-4e24-98c9-ec146b1ca8c6") and row["session_key"] is None
    )


def test_decoder_rejects_bad_ids_and_times_span_by_span() -> None:
    good = {"trace_id": bytes.fromhex(TRACE), "span_id": b"\x00" * 7 + b"\xaa", "start_time_unix_nano": 10,
            "end_time_unix_nano": 20, "name": "good"}  # fmt: skip
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    spans.add(**good)
    for change in (
        {"trace_id": bytes(16)}, {"trace_id": b"\x01" * 15}, {"span_id": b"\x01" * 3}, {"span_id": bytes(8)},
        {"parent_span_id": b"\x01" * 9}, {"end_time_unix_nano": 1}, {"start_time_unix_nano": 0},
    ):  # fmt: skip
        spans.add(**{**good, **change, "name": "bad"})
    spans.add(**{**good, "name": "link", "links": [{"trace_id": bytes(16), "span_id": b"\x01" * 8}]})
    batch = decode_request(request)
    assert [s.name for s in batch.spans] == ["good"] and batch.rejected == 8
    for message in ("traceId", "traceId", "spanId", "spanId", "parentSpanId", "before", "startTimeUnixNano"):
        assert message in batch.errors.pop(0)
    assert "links.traceId must be 32 hex digits and not all zero" in batch.errors[0]


def test_row_uuid_is_uuid5_of_the_row_namespace() -> None:
    names = [
        "",
        "a",
        "0123456789abcdef0123456789abcdef0123456789abcdef",
        "prompt-é-\u4e2d-\U0001f600",
        *(f"{i:032x}{i * 7919:016x}" for i in range(2000)),
        *("x" * n for n in range(0, 130, 7)),
    ]
    for name in names:
        expected = uuid.uuid5(ROW_NAMESPACE, name)
        got = row_uuid(name)
        assert isinstance(got, uuid.UUID)
        assert (got, got.int, str(got), got.version, got.is_safe) == (
            expected,
            expected.int,
            str(expected),
            5,
            expected.is_safe,
        )
        assert hash(got) == hash(expected)


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def _outcome(parse: Callable[[str], object], text: str) -> tuple[str, object]:
    try:
        return "ok", parse(text)
    except ValueError as exc:
        return type(exc).__name__, str(exc)


def test_strict_loads_is_json_loads_without_nan_or_infinity() -> None:
    texts = [
        '{"a": 1}', ' {"a": 1}', '{"a": 1} ', "\n[1, 2]\t", "[1, 2] x", "1 2", "", " ", "null", "true",
        "NaN", "[NaN]", '{"x": -Infinity}', "Infinity", "12345678901234567890123", "1e999", '"\\u0000"',
        '"\\ud800"', '"ünï ✓"', "{", '{"a":}', "[1,]", "tru", "'x'", "0x10", '{"a":1}{"b":2}', "[]", "{}",
        '{"a": {"b": [1, 2.5, "c", null, false]}}',
    ]  # fmt: skip
    for text in texts:
        expected = _outcome(lambda t: json.loads(t, parse_constant=_refuse), text)
        assert _outcome(strict_loads, text) == expected, text
