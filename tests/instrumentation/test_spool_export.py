"""Spans to the spool: Example 1 unchanged, OTLP/JSON decoded back with protobuf, failure modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from tests.support.otlp_checks import (
    check_example1,
    parse_otlp_json_line,
    read_spool,
    run_example1_unchanged,
)
from tests.support.span_dicts import T0, IncrementalIds
from traceability.instrumentation.spool_exporter import SpoolSpanExporter
from traceability.instrumentation.tracer import ExecutionTracer


async def test_example1_unchanged_lands_in_the_spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = tmp_path / "spool"
    monkeypatch.setenv("TRACEABILITY_SPOOL_DIR", str(spool))
    await run_example1_unchanged()
    check_example1(read_spool(spool))


def _varied_spans() -> tuple[ReadableSpan, ...]:
    """Spans with every OTLP feature the encoder writes: parent, link, event, arrays, status."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(id_generator=IncrementalIds())
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test", "1.0")
    parent = tracer.start_span("parent", start_time=T0)
    child = tracer.start_span(
        "child",
        context=trace.set_span_in_context(parent),
        links=[Link(parent.get_span_context(), {"why": "test"})],
        attributes={"s": "ü\x00x", "i": 2**40, "f": 1.5, "b": True, "arr": ["a", "b"], "ints": [1, 2]},
        start_time=T0 + 1,
    )
    child.add_event("evt", {"k": "v"}, timestamp=T0 + 2)
    child.set_status(Status(StatusCode.ERROR, "bad"))
    child.end(end_time=T0 + 3)
    parent.end(end_time=T0 + 4)
    return memory.get_finished_spans()


def test_spool_line_is_otlp_json_and_round_trips_exactly(tmp_path: Path) -> None:
    spans = _varied_spans()
    exporter = SpoolSpanExporter(str(tmp_path))
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    (path,) = tmp_path.iterdir()
    data = path.read_bytes()
    assert data.count(b"\n") == 1 and data.endswith(b"\n")
    assert parse_otlp_json_line(data) == encode_spans(spans)
    # OTLP/JSON rules: hex ids (not base64), integer enums, lowerCamelCase keys
    span = json.loads(data)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert (span["name"], span["traceId"], span["spanId"], span["parentSpanId"]) == (
        "child", f"{1:032x}", f"{2:016x}", f"{1:016x}",
    )  # fmt: skip
    assert span["links"][0]["traceId"] == f"{1:032x}" and span["links"][0]["spanId"] == f"{1:016x}"
    assert (span["kind"], span["status"]["code"]) == (1, 2)
    assert span["startTimeUnixNano"] == str(T0 + 1)


def test_each_export_is_its_own_file_in_time_order(tmp_path: Path) -> None:
    spans = _varied_spans()
    exporter = SpoolSpanExporter(str(tmp_path), fsync=False)
    for _ in range(3):
        assert exporter.export(spans[:1]) is SpanExportResult.SUCCESS
    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == 3 and all(n.endswith(".json") and not n.startswith(".") for n in names)
    assert [n.split("-")[2] for n in sorted(names)] == ["000001", "000002", "000003"]


def test_unwritable_spool_fails_without_raising(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    exporter = SpoolSpanExporter(str(blocker / "spool"))  # under a regular file: not creatable, even as root
    assert exporter.export(_varied_spans()) is SpanExportResult.FAILURE
    assert exporter.last_error is not None and "NotADirectoryError" in exporter.last_error
    exporter.shutdown()
    exporter.shutdown()
    good = SpoolSpanExporter(str(tmp_path / "ok"))
    good.shutdown()
    assert good.export(_varied_spans()) is SpanExportResult.FAILURE  # after shutdown
    assert not (tmp_path / "ok").exists()


async def test_tracer_to_spool_health(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEABILITY_SPOOL_DIR", str(tmp_path / "from-env"))
    tracer = ExecutionTracer(spool_dir=str(tmp_path / "from-arg"))  # argument beats environment
    health = await tracer.health_check()
    assert (health.healthy, health.exporter, health.target) == (True, "spool", str(tmp_path / "from-arg"))
    assert (health.target_reachable, health.last_export_ok) == (True, None)
    corr = await tracer.start_trace("s", "p", "session")
    await tracer.track_hook_execution(corr, "h", "Read", 1.0)
    await tracer.complete_trace(corr, True)
    assert await tracer.force_flush()
    health = await tracer.health_check()
    assert (health.healthy, health.last_export_ok, health.exported_spans, health.failed_spans) == (
        True,
        True,
        2,
        0,
    )
    assert [
        p.name for p in (tmp_path / "from-arg").iterdir() if p.name.startswith(".")
    ] == []  # probe cleaned up
    await tracer.shutdown()
    assert not (tmp_path / "from-env").exists()


async def test_tracer_with_unwritable_spool_keeps_working_and_says_unhealthy(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    tracer = ExecutionTracer(spool_dir=str(blocker / "spool"))
    corr = await tracer.start_trace("s", "p", "session")
    await tracer.track_hook_execution(corr, "h", "Read", 1.0)
    await tracer.complete_trace(corr, True)
    await tracer.force_flush()
    health = await tracer.health_check()
    assert (health.healthy, health.target_reachable, health.last_export_ok) == (False, False, False)
    assert health.failed_spans == 2 and "not writable" in health.detail
    await tracer.shutdown()
    await tracer.shutdown()


def _only_file(directory: Path) -> bytes:
    (path,) = directory.iterdir()
    return path.read_bytes()


async def test_the_collectors_decoder_accepts_the_spool_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from traceability.exporter.codec.traces import decode_json

    monkeypatch.setenv("TRACEABILITY_SPOOL_DIR", str(tmp_path))
    await run_example1_unchanged()
    (line,) = _only_file(tmp_path).splitlines()
    batch = decode_json(line)
    assert (batch.rejected, len(batch.spans)) == (0, 3)
    names = sorted(record.name for record in batch.spans)
    assert names == ["claude_code.turn", "hook quality-enforcer", "hook rag-intelligence"]
