"""Spans over real OTLP/HTTP (the SDK's protobuf exporter) to a real HTTP server on a free port."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.otlp_checks import check_example1, run_example1_unchanged
from tests.support.otlp_server import recording_otlp_server
from traceability.exporter.devtools.embedded_pg import free_port
from traceability.instrumentation.tracer import ExecutionTracer


async def test_example1_unchanged_over_otlp_http(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRACEABILITY_SPOOL_DIR", str(tmp_path / "spool"))
    with recording_otlp_server() as server:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", server.url)
        await run_example1_unchanged()
        received = list(server.received)
    assert received, "the tracer sent nothing"
    assert {(r.path, r.content_type) for r in received} == {("/v1/traces", "application/x-protobuf")}
    check_example1(r.request for r in received)
    assert not (tmp_path / "spool").exists()  # OTLP configured: nothing goes to the spool


async def test_traceparent_and_correlation_id_reach_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEPARENT", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    with recording_otlp_server() as server:
        tracer = ExecutionTracer(otlp_endpoint=server.url + "/")
        health = await tracer.health_check()
        assert (health.healthy, health.exporter, health.target) == (True, "otlp", server.url + "/v1/traces")
        corr = await tracer.start_trace("s", "p", "session")
        await tracer.track_hook_execution(corr, "post-tool-use", "Bash", 2.0)
        await tracer.complete_trace(corr, True)
        await tracer.shutdown()
        spans = [
            s
            for r in server.received
            for rs in r.request.resource_spans
            for ss in rs.scope_spans
            for s in ss.spans
        ]
    assert corr == "0af76519-16cd-43dd-8448-eb211c80319c"
    by_name = {s.name: s for s in spans}
    root, hook = by_name["claude_code.turn"], by_name["hook post-tool-use"]
    assert {s.trace_id.hex() for s in spans} == {"0af7651916cd43dd8448eb211c80319c"}
    assert root.parent_span_id.hex() == "b7ad6b7169203331"
    assert hook.parent_span_id == root.span_id


async def test_unreachable_endpoint_never_blocks_or_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    tracer = ExecutionTracer()
    corr = await tracer.start_trace("s", "p", "session")
    await tracer.track_hook_execution(corr, "h", "Read", 1.0)
    await tracer.complete_trace(corr, True)
    await tracer.force_flush(timeout_millis=5000)
    health = await tracer.health_check()
    assert (health.healthy, health.exporter, health.target_reachable) == (False, "otlp", False)
    assert health.last_export_ok is False and health.failed_spans == 2
    assert "unreachable" in health.detail
    await tracer.shutdown()
    await tracer.shutdown()
