"""/v1/logs and /v1/metrics on the real collector: both recorded encodings, partial success, bad bodies, the spool."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

from tests.support.collector import running_collector, start_collector, stop_collector
from tests.support.db import fetch
from tests.support.native_recorded import ENCODINGS, json_log_records, otlp_bodies
from traceability.collector.drainer import DrainStats, SpoolDrainer
from traceability.exporter.devtools.embedded_pg import free_port
from traceability.exporter.storage.database import LazyPool
from traceability.exporter.storage.writer import SpanWriter

NATIVE_TABLES = (
    "claude_code_events",
    "claude_code_metric_points",
    "claude_code_spans",
    "claude_code_trace_links",
)


def native_snapshot(dsn: str) -> dict[str, list[dict[str, object]]]:
    return {
        table: [
            {k: v for k, v in row.items() if k != "created_at"}
            for row in fetch(dsn, f"SELECT * FROM {table} ORDER BY 1")
        ]
        for table in NATIVE_TABLES
    }


def post_all(url: str, encoding: str) -> None:
    for body in otlp_bodies(encoding):
        response = httpx.post(f"{url}/v1/{body.signal}", content=body.body, headers=body.headers, timeout=10)
        assert response.status_code == 200, (body.name, response.text)
        assert response.headers["content-type"] == body.headers["Content-Type"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_recorded_logs_and_metrics_are_stored_and_a_replay_changes_nothing(
    db_dsn: str, tmp_path: Path, encoding: str
) -> None:
    with running_collector(db_dsn, tmp_path) as collector:
        post_all(collector.url, encoding)
        first = native_snapshot(db_dsn)
        post_all(collector.url, encoding)
        assert native_snapshot(db_dsn) == first
        health = collector.health()
    assert health["receiver"]["log_records_rejected"] == 0  # type: ignore[index]

    events: list[dict[str, Any]] = first["claude_code_events"]
    names = {e["event_name"] for e in events}
    assert {"user_prompt", "api_request", "tool_decision", "tool_result", "hook_execution_complete"} <= names
    requests = [e for e in events if e["event_name"] == "api_request"]
    assert len(requests) == 4
    assert all(e["input_tokens"] == 100 and e["output_tokens"] == 20 for e in requests)
    assert sum(e["cost_usd"] for e in requests) == pytest.approx(0.0032)
    assert all(e["model"] == "claude-opus-5-5" and e["request_id"].startswith("req_fake") for e in requests)
    assert all(e["prompt_id"] and e["native_trace_id"] for e in requests)
    decisions = [e for e in events if e["event_name"] == "tool_decision"]
    assert {(e["decision"], e["decision_source"]) for e in decisions} == {("accept", "config")}
    failed = [e for e in events if e["event_name"] == "tool_result" and e["success"] is False]
    assert len(failed) == 1 and failed[0]["tool_name"] == "Read" and "does not exist" in failed[0]["error"]
    hooks = [e for e in events if e["event_name"] == "hook_execution_complete"]
    assert hooks and all(e["hook_total_duration_ms"] > 0 and e["hook_event"] for e in hooks)
    prompts = [e for e in events if e["event_name"] == "user_prompt"]
    assert len(prompts) == 1 and prompts[0]["prompt_text"] is None  # capture is off
    assert "prompt" not in json.loads(prompts[0]["attributes"])

    points: list[dict[str, Any]] = first["claude_code_metric_points"]
    assert {p["metric_name"] for p in points} >= {"claude_code.token.usage", "claude_code.cost.usage"}
    assert all(p["temporality"] == "DELTA" and p["is_monotonic"] and p["kind"] == "sum" for p in points)
    cost = sum(p["value"] for p in points if p["metric_name"] == "claude_code.cost.usage")
    assert cost == pytest.approx(sum(e["cost_usd"] for e in requests))
    links = first["claude_code_trace_links"]
    assert len(links) == 1 and links[0]["prompt_id"] == prompts[0]["prompt_id"]


def test_events_equal_the_recorded_records_field_by_field(db_dsn: str, tmp_path: Path) -> None:
    with running_collector(db_dsn, tmp_path) as collector:
        post_all(collector.url, "json")
    stored = {
        (e["session_id"], json.loads(e["attributes"])["event.sequence"]): e
        for e in fetch(db_dsn, "SELECT * FROM claude_code_events")
    }
    records = json_log_records()
    assert len(stored) == len(records)
    for record in records:
        attrs = record["attrs"]
        row = stored[(attrs["session.id"], attrs["event.sequence"])]
        assert row["event_name"] == attrs["event.name"]
        assert row["prompt_id"] == attrs.get("prompt.id")
        assert row["tool_use_id"] == attrs.get("tool_use_id")
        assert (row["native_trace_id"].hex if row["native_trace_id"] else None) == record.get("traceId")
        assert row["native_span_id"] == record.get("spanId")
        assert row["event_time"].timestamp() * 1e9 == pytest.approx(int(record["timeUnixNano"]), abs=1000)
        if attrs["event.name"] == "api_request":
            for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens"):
                assert row[key] == int(attrs[key])
            assert row["cost_usd"] == attrs["cost_usd"] and row["ttft_ms"] == float(attrs["ttft_ms"])
            assert row["duration_ms"] == float(attrs["duration_ms"])


def _logs_body(records: list[dict[str, object]]) -> bytes:
    return json.dumps({"resourceLogs": [{"resource": {}, "scopeLogs": [{"logRecords": records}]}]}).encode()


def _record(seq: int, **extra: object) -> dict[str, object]:
    return {
        "timeUnixNano": str(1_796_152_140_000_000_000 + seq),
        "body": {"stringValue": "claude_code.api_request"},
        "attributes": [
            {"key": "event.name", "value": {"stringValue": "api_request"}},
            {"key": "event.sequence", "value": {"intValue": str(seq)}},
            {"key": "session.id", "value": {"stringValue": "s-partial"}},
        ],
        **extra,
    }


def test_bad_records_are_rejected_and_the_good_ones_kept(db_dsn: str, tmp_path: Path) -> None:
    with running_collector(db_dsn, tmp_path) as collector:
        body = _logs_body([_record(1), _record(2, traceId="abc"), _record(3, timeUnixNano="0"), _record(4)])
        response = httpx.post(
            f"{collector.url}/v1/logs", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200
        parsed = ExportLogsServiceResponse()
        from google.protobuf import json_format

        json_format.Parse(response.text, parsed)
        assert parsed.partial_success.rejected_log_records == 2
        assert "traceId" in parsed.partial_success.error_message

        metric = {"name": "m", "gauge": {"dataPoints": [{"timeUnixNano": "5", "asDouble": 1.5}]}}
        bad = {"name": "bad", "gauge": {"dataPoints": [{"timeUnixNano": "0", "asDouble": 2}]}}
        body = json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric, bad]}]}]}).encode()
        response = httpx.post(
            f"{collector.url}/v1/metrics", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200
        mparsed = json_format.Parse(response.text, ExportMetricsServiceResponse())
        assert mparsed.partial_success.rejected_data_points == 1

        only_bad = _logs_body([_record(9, spanId="zz")])
        response = httpx.post(
            f"{collector.url}/v1/logs", content=only_bad, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400 and "no valid log record" in response.text
        response = httpx.post(
            f"{collector.url}/v1/metrics",
            content=b"\xff\x00garbage",
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert response.status_code == 400
        response = httpx.post(
            f"{collector.url}/v1/logs", content=b"{}", headers={"Content-Type": "text/plain"}
        )
        assert response.status_code == 415
        assert collector.health()["status"] == "ok"
    sequences = sorted(
        json.loads(r["attributes"])["event.sequence"]
        for r in fetch(db_dsn, "SELECT * FROM claude_code_events")
    )
    assert sequences == [1, 4]
    assert [p["metric_name"] for p in fetch(db_dsn, "SELECT * FROM claude_code_metric_points")] == ["m"]


def test_logs_and_metrics_are_spooled_when_the_database_is_down_then_drained(
    db_dsn: str, tmp_path: Path
) -> None:
    down = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    collector = start_collector(down, tmp_path / "spool", tmp_path / "collector.log")
    try:
        for body in otlp_bodies("protobuf-gzip"):
            if body.signal == "traces":
                continue
            response = httpx.post(
                f"{collector.url}/v1/{body.signal}", content=body.body, headers=body.headers, timeout=30
            )
            assert response.status_code == 200, response.text
        queued = collector.health()["receiver"]["records_queued_on_disk"]  # type: ignore[index]
    finally:
        stop_collector(collector)
    assert queued > 0
    assert len(list((tmp_path / "spool").glob("*.json"))) == 4
    stats = asyncio.run(_drain(db_dsn, tmp_path / "spool"))
    assert not list((tmp_path / "spool").glob("*.json"))
    assert stats.records_rejected == 0 and stats.files_rejected == 0
    assert len(fetch(db_dsn, "SELECT 1 FROM claude_code_events WHERE event_name = 'api_request'")) == 4
    assert fetch(db_dsn, "SELECT count(*) AS n FROM claude_code_metric_points")[0]["n"] == queued - len(
        fetch(db_dsn, "SELECT 1 FROM claude_code_events")
    )
    assert len(fetch(db_dsn, "SELECT 1 FROM claude_code_trace_links")) == 1


async def _drain(dsn: str, spool: Path) -> DrainStats:
    pool = LazyPool(dsn, min_size=1, max_size=2)
    try:
        drainer = SpoolDrainer(str(spool), SpanWriter(pool))
        while await drainer.drain_once():
            pass
    finally:
        await pool.close()
    return drainer.stats
