"""The collector's OTLP/HTTP receiver against a real PostgreSQL, fed by real OTel clients."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.support.collector import running_collector
from tests.support.db import fetch, snapshot
from tests.support.ingest_payloads import TRACE, TRACE_UUID, otlp_json_body
from tests.support.spans import MS, SESSION, T0, make_turn


def test_sdk_otlp_exporter_to_rows_field_by_field(db_dsn: str, tmp_path: Path) -> None:
    with running_collector(db_dsn, tmp_path) as collector:
        exporter = OTLPSpanExporter(endpoint=collector.traces_url, timeout=10)
        assert exporter.export(make_turn(TRACE, hooks=2, failed_hook=1)) is SpanExportResult.SUCCESS
        exporter.shutdown()

    traces = fetch(db_dsn, "SELECT * FROM execution_traces")
    assert len(traces) == 1
    t = traces[0]
    expected_trace = {
        "id": TRACE_UUID,
        "correlation_id": TRACE_UUID,
        "root_id": TRACE_UUID,
        "parent_id": None,
        "session_id": uuid.UUID(SESSION),
        "session_key": None,
        "user_id": "dev",
        "source": "user-prompt-submit",
        "prompt_text": "Implement authentication system",
        "duration_ms": 1000,
        "status": "completed",
        "success": True,
        "error_message": None,
        "error_type": None,
        "context": json.dumps({"cwd": "/work/app"}),
        "tags": ["authentication", "backend"],
        "otel_trace_id": f"{TRACE:032x}",
        "root_span_id": "0000000000001001",
        "service_name": "claude-code-hooks",
        "span_name": "claude_code.turn",
        "status_code": "UNSET",
        "root_received": True,
    }
    assert {k: t[k] for k in expected_trace} == expected_trace
    assert t["started_at"].timestamp() == T0 / 1e9
    assert t["completed_at"].timestamp() == (T0 + 1000 * MS) / 1e9

    hooks = fetch(db_dsn, "SELECT * FROM hook_executions ORDER BY execution_order")
    assert [h["execution_order"] for h in hooks] == [1, 2]
    ok, failed = hooks
    expected_ok = {
        "trace_id": TRACE_UUID,
        "hook_type": "PreToolUse",
        "hook_name": "quality-enforcer",
        "tool_name": "Write",
        "file_path": "/work/app/m0.py",
        "duration_ms": 5,
        "status": "completed",
        "success": True,
        "quality_check_performed": True,
        "quality_results": json.dumps({"quality_score": 0.5, "violations_found": 0}),
        "quality_score": 0.5,
        "rag_query_performed": False,
        "rag_results": None,
        "input_data": json.dumps({"nul": "a\ufffdb", "content": "x = 1\n"}, ensure_ascii=False),
        "span_id": "0000000000001002",
        "parent_span_id": "0000000000001001",
        "span_name": "hook PreToolUse",
        "span_kind": "INTERNAL",
        "span_type": "hook",
        "session_id": SESSION,
        "tool_use_id": "toolu_0000",
        "error_message": None,
    }
    assert {k: ok[k] for k in expected_ok} == expected_ok
    assert ok["started_at"].timestamp() == (T0 + 10 * MS) / 1e9
    assert (failed["status"], failed["success"], failed["error_message"], failed["error_type"]) == (
        "failed",
        False,
        "boom",
        "ValueError",
    )
    assert failed["status_code"] == "ERROR"
    assert "ValueError: boom" in failed["error_stack"]
    assert json.loads(failed["events"])[0]["name"] == "exception"


def test_otlp_json_body_is_stored_and_replay_changes_nothing(db_dsn: str, tmp_path: Path) -> None:
    body = otlp_json_body()
    with running_collector(db_dsn, tmp_path) as collector:
        first = httpx.post(collector.traces_url, content=body, headers={"Content-Type": "application/json"})
        assert first.status_code == 200, first.text
        assert first.headers["content-type"] == "application/json"
        assert json.loads(first.content) == {}  # full success: no partial_success
        before = snapshot(db_dsn)
        again = httpx.post(collector.traces_url, content=body, headers={"Content-Type": "application/json"})
        assert again.status_code == 200
    assert len(before[0]) == 1 and len(before[1]) == 3
    assert snapshot(db_dsn) == before  # updated_at included: nothing was rewritten


def test_gzip_protobuf_body(db_dsn: str, tmp_path: Path) -> None:
    body = gzip.compress(encode_spans(make_turn(TRACE, hooks=4)).SerializeToString())
    with running_collector(db_dsn, tmp_path) as collector:
        response = httpx.post(
            collector.traces_url,
            content=body,
            headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    parsed = ExportTraceServiceResponse.FromString(response.content)
    assert parsed.partial_success.rejected_spans == 0
    assert fetch(db_dsn, "SELECT count(*) AS n FROM hook_executions")[0]["n"] == 4


def test_one_malformed_span_keeps_the_others_and_answers_partial_success(db_dsn: str, tmp_path: Path) -> None:
    payload = json.loads(otlp_json_body(hooks=3))
    spans = payload["resourceSpans"][0]["scopeSpans"][0]["spans"]
    bad = next(s for s in spans if s.get("parentSpanId"))
    bad["spanId"] = "xyz"  # not hex
    with running_collector(db_dsn, tmp_path) as collector:
        response = httpx.post(
            collector.traces_url, content=json.dumps(payload), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 200
    partial = json.loads(response.content)["partialSuccess"]
    assert partial["rejectedSpans"] == "1"  # int64 is a string in JSON
    assert "spanId is not hex" in partial["errorMessage"]
    assert fetch(db_dsn, "SELECT count(*) AS n FROM hook_executions")[0]["n"] == 2
    assert fetch(db_dsn, "SELECT status FROM execution_traces")[0]["status"] == "completed"


def test_garbage_gets_400_and_the_collector_keeps_serving(db_dsn: str, tmp_path: Path) -> None:
    with running_collector(db_dsn, tmp_path) as collector:
        garbage = httpx.post(
            collector.traces_url,
            content=b"\x0a\xff\xff\xff\xff\x0f",
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert garbage.status_code == 400
        assert garbage.headers["content-type"] == "application/x-protobuf"
        assert "not a valid OTLP" in Status.FromString(garbage.content).message

        bad_json = httpx.post(
            collector.traces_url, content=b"{nope", headers={"Content-Type": "application/json"}
        )
        assert bad_json.status_code == 400
        assert "not valid JSON" in json.loads(bad_json.content)["message"]

        unknown = httpx.post(collector.traces_url, content=b"x", headers={"Content-Type": "text/plain"})
        assert unknown.status_code == 415
        assert "unsupported Content-Type" in json.loads(unknown.content)["message"]

        assert collector.health()["status"] == "ok"
        ok = httpx.post(
            collector.traces_url, content=otlp_json_body(), headers={"Content-Type": "application/json"}
        )
        assert ok.status_code == 200
        assert collector.process.poll() is None
    assert fetch(db_dsn, "SELECT count(*) AS n FROM hook_executions")[0]["n"] == 3


def test_oversized_body_gets_413_before_it_is_read(db_dsn: str, tmp_path: Path) -> None:
    env = {"TRACEABILITY_MAX_BODY_BYTES": "1024"}
    with running_collector(db_dsn, tmp_path, extra_env=env) as collector:
        declared = httpx.post(
            collector.traces_url,
            content=b"{" + b" " * 4096 + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert declared.status_code == 413
        assert "over the 1024 byte limit" in json.loads(declared.content)["message"]

        def chunks() -> Any:  # no Content-Length: the limit applies while streaming
            for _ in range(64):
                yield b" " * 1024

        streamed = httpx.post(
            collector.traces_url, content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        small = httpx.post(collector.traces_url, content=b"{}", headers={"Content-Type": "application/json"})
        assert small.status_code == 200


def test_gzip_bomb_is_413_not_memory(db_dsn: str, tmp_path: Path) -> None:
    bomb = gzip.compress(b"0" * (80 * 1024 * 1024))  # 80 MiB of zeros, ~80 KiB compressed
    with running_collector(db_dsn, tmp_path) as collector:
        response = httpx.post(
            collector.traces_url,
            content=bomb,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            timeout=30,
        )
    assert response.status_code == 413
    assert "decompressed body" in json.loads(response.content)["message"]
