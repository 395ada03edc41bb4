"""Sessions, turn totals and the merged timeline, on the recorded Claude Code sessions (hooks + native telemetry)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.hooks import HookEnv
from tests.support.native_recorded import ENCODINGS, hook_payloads, log_records, native_spans, otlp_bodies
from traceability.collector.drainer import SpoolDrainer
from traceability.exporter.codec.logs import decode_logs_json, decode_logs_protobuf
from traceability.exporter.codec.metrics import decode_metrics_json, decode_metrics_protobuf
from traceability.exporter.codec.traces import decode_json, decode_protobuf
from traceability.exporter.storage.database import LazyPool
from traceability.exporter.storage.native_writer import NativeWriter
from traceability.exporter.storage.writer import SpanWriter


async def load(dsn: str, tmp_path: Path, encoding: str, *, hooks: bool = True, native: bool = True) -> None:
    pool = LazyPool(dsn, min_size=1, max_size=2)
    spans, natives = SpanWriter(pool), NativeWriter(pool)
    try:
        if native:
            for body in otlp_bodies(encoding):
                raw, is_json = body.raw(), encoding == "json"
                if body.signal == "traces":
                    assert not (
                        await spans.write((decode_json(raw) if is_json else decode_protobuf(raw)).spans)
                    ).rejected
                elif body.signal == "logs":
                    batch = decode_logs_json(raw) if is_json else decode_logs_protobuf(raw)
                    assert not (await natives.write_logs(batch.records)).rejected
                else:
                    points = (decode_metrics_json(raw) if is_json else decode_metrics_protobuf(raw)).points
                    assert not (await natives.write_metrics(points)).rejected
        if hooks:
            hook = HookEnv(tmp_path / f"hook-{encoding}")
            hook.replay(hook_payloads(encoding))
            drainer = SpoolDrainer(str(hook.spool), spans)
            while await drainer.drain_once():
                pass
    finally:
        await pool.close()


def expected_totals(encoding: str) -> dict[str, Any]:
    """The turn's totals computed straight from the recorded OTLP requests."""
    events = [attrs for attrs, _ in log_records(encoding)]
    requests = [e for e in events if e["event.name"] == "api_request"]
    spans = native_spans(encoding)
    return {
        "llm_calls": len(requests),
        "api_errors": sum(e["event.name"] == "api_error" for e in events),
        "input_tokens": sum(int(e["input_tokens"]) for e in requests),
        "output_tokens": sum(int(e["output_tokens"]) for e in requests),
        "cache_read_tokens": sum(int(e["cache_read_tokens"]) for e in requests),
        "cache_creation_tokens": sum(int(e["cache_creation_tokens"]) for e in requests),
        "cost_usd": pytest.approx(sum(e["cost_usd"] for e in requests)),
        "models": sorted({e["model"] for e in requests}),
        "model_ms": sum(float(e["duration_ms"]) for e in requests),
        "tool_ms": pytest.approx(
            sum(s["duration_ms"] for s in spans if s["name"] == "claude_code.tool.execution")
        ),
        "permission_wait_ms": pytest.approx(
            sum(s["duration_ms"] for s in spans if s["name"] == "claude_code.tool.blocked_on_user")
        ),
        "hook_ms": sum(
            float(e["total_duration_ms"])
            for e in events
            if e["event.name"] == "hook_execution_complete" and "prompt.id" in e
        ),
    }


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_a_session_its_turn_totals_and_the_merged_timeline(
    client: httpx.AsyncClient, db_dsn: str, tmp_path: Path, encoding: str
) -> None:
    await load(db_dsn, tmp_path, encoding)
    payloads = hook_payloads(encoding)
    session_id, prompt = (
        payloads[0]["session_id"],
        next(p["prompt_id"] for p in payloads if p.get("prompt_id")),
    )
    expected = expected_totals(encoding)
    assert expected["llm_calls"] == 4 and expected["permission_wait_ms"] != 0

    listed = (await client.get("/sessions")).json()["data"]
    assert listed["total"] == 1 and listed["sessions"][0]["session_id"] == session_id
    assert listed["sessions"][0]["turns"] == 1 and listed["sessions"][0]["has_native_telemetry"] is True
    assert listed["sessions"][0]["totals"] == expected

    found = (await client.get(f"/sessions/{session_id}")).json()["data"]
    assert len(found["turns"]) == 1, "the native interaction is not a second turn"
    turn = found["turns"][0]
    native_trace = native_spans(encoding)[0]["trace_id"]
    assert (turn["origin"], turn["prompt_id"], turn["native_trace_id"]) == (
        "hooks",
        prompt,
        str(uuid.UUID(native_trace)),
    )
    assert turn["totals"] == expected and found["totals"] == expected

    data = (await client.get(f"/traces/{turn['turn_id']}")).json()["data"]
    assert data["native_trace_id"] == native_trace and data["totals"] == expected
    timeline = data["timeline"]
    assert [t["time"] for t in timeline] == sorted(t["time"] for t in timeline)
    origins = {t["origin"] for t in timeline}
    assert origins == {"hooks", "native", "event"}
    assert all(None not in t["details"].values() for t in timeline)  # nulls left out
    llm = [t for t in timeline if t["origin"] == "native" and t["kind"] == "llm_request"]
    assert llm and all({"model", "input_tokens", "request_id"} <= t["details"].keys() for t in llm)
    requests = [t for t in timeline if t["origin"] == "event" and t["name"] == "api_request"]
    assert requests and all({"model", "cost_usd"} <= t["details"].keys() for t in requests)
    assert sum(t["origin"] == "native" for t in timeline) == len(native_spans(encoding))
    hook_tools = {
        t["tool_use_id"]: t["span_id"] for t in timeline if t["origin"] == "hooks" and t["kind"] == "tool"
    }
    native_tools = [
        t for t in timeline if t["origin"] == "native" and t["name"].startswith("claude_code.tool")
    ]
    assert len(native_tools) == 9  # 3 tools, each with blocked_on_user and execution
    for item in native_tools:
        assert item["joined_span_id"] == hook_tools[item["tool_use_id"]]
    failed = [t for t in native_tools if t["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["name"] == "claude_code.tool.execution"

    by_native = (await client.get(f"/traces/{native_trace}")).json()["data"]
    assert by_native["correlation_id"] == turn["turn_id"] and by_native["timeline"] == timeline
    for trace_id in (turn["turn_id"], native_trace):  # one span whole, by either trace id
        span = (await client.get(f"/traces/{trace_id}/spans/{failed[0]['span_id']}")).json()["data"]
        assert (span["correlation_id"], span["origin"]) == (turn["turn_id"], "native")
        assert (span["span"]["name"], span["span"]["status_code"]) == ("claude_code.tool.execution", "ERROR")
        assert span["span"]["tool_use_id"] == failed[0]["tool_use_id"]
    hook_tool = next(iter(hook_tools.values()))
    span = (await client.get(f"/traces/{native_trace}/spans/{hook_tool}")).json()["data"]
    assert span["origin"] == "hooks" and span["span"]["span_type"] == "tool"

    stats = (await client.get("/stats")).json()["data"]
    assert stats["total_traces"] == 2  # the hook turn and the session's own trace, no native one


async def test_a_native_trace_without_hooks_is_a_visible_turn(
    client: httpx.AsyncClient, db_dsn: str, tmp_path: Path
) -> None:
    await load(db_dsn, tmp_path, "protobuf-gzip", hooks=False)
    session_id = hook_payloads("protobuf-gzip")[0]["session_id"]
    found = (await client.get(f"/sessions/{session_id}")).json()["data"]
    assert [t["origin"] for t in found["turns"]] == ["native"]
    turn = found["turns"][0]
    assert turn["status"] == "completed" and turn["prompt_id"] is not None
    assert turn["totals"] == expected_totals("protobuf-gzip")
    data = (await client.get(f"/traces/{turn['turn_id']}")).json()["data"]
    assert data["origin"] == "native" and data["hook_executions"] is None
    full = (await client.get(f"/traces/{turn['turn_id']}", params={"detail": "full"})).json()["data"]
    assert full["hook_executions"] == [] and full["timeline"] == data["timeline"]
    assert {t["origin"] for t in data["timeline"]} == {"native", "event"}
    first = next(t for t in data["timeline"] if t["origin"] == "native")
    span = (await client.get(f"/traces/{turn['turn_id']}/spans/{first['span_id']}")).json()["data"]
    assert (span["correlation_id"], span["origin"], span["span"]["name"]) == (
        turn["turn_id"],
        "native",
        first["name"],
    )
    assert (await client.get("/stats")).json()["data"]["total_traces"] == 0


async def test_sessions_newest_first_with_pagination_and_filters(
    client: httpx.AsyncClient, db_dsn: str, tmp_path: Path
) -> None:
    for encoding in ENCODINGS:
        await load(db_dsn, tmp_path, encoding)
    listed = (await client.get("/sessions")).json()["data"]
    assert listed["total"] == 2
    lasts = [s["last_activity_at"] for s in listed["sessions"]]
    assert lasts == sorted(lasts, reverse=True)
    second = (await client.get("/sessions", params={"limit": 1, "offset": 1})).json()["data"]
    assert second["sessions"] == listed["sessions"][1:] and second["has_more"] is False
    past = (await client.get("/sessions", params={"offset": 5})).json()["data"]
    assert past["sessions"] == [] and past["total"] == 2
    newest = listed["sessions"][0]["last_activity_at"]
    since = (await client.get("/sessions", params={"since": newest})).json()["data"]
    assert [s["session_id"] for s in since["sessions"]] == [listed["sessions"][0]["session_id"]]
    assert (await client.get("/sessions/not-a-session")).status_code == 404
