"""Posting recorded Claude Code telemetry to a collector and waiting for it, shared by the native and UI tests."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from tests.support.collector import Collector
from tests.support.native_recorded import OtlpBody
from traceability.exporter.codec.records import SpanRecord
from traceability.instrumentation import posix_fs
from traceability.instrumentation import semconv as sc


def post(collector: Collector, body: OtlpBody) -> None:
    response = httpx.post(
        f"{collector.url}/v1/{body.signal}", content=body.body, headers=body.headers, timeout=10
    )
    assert response.status_code == 200, (body.name, response.text)


def place_in_spool(path: Path, spool: Path) -> None:
    """Put a hook's spool file into ``spool`` as the hook does (``posix_fs.write_atomic``: complete,
    then renamed into place); a plain copy can be read half-written by the drainer."""
    posix_fs.write_atomic(str(spool / path.name), path.read_bytes())


def drained(collector: Collector) -> bool:
    return collector.health()["spool_pending_files"] == 0


def native_trace_id(bodies: list[OtlpBody]) -> uuid.UUID:
    from traceability.exporter.codec.traces import decode_json, decode_protobuf

    body = next(b for b in bodies if b.signal == "traces")
    batch = (
        decode_json(body.raw())
        if body.headers["Content-Type"] == "application/json"
        else decode_protobuf(body.raw())
    )
    return uuid.UUID(next(s.trace_id for s in batch.spans if s.parent_span_id is None))


def interaction_span(session_id: str, trace_id: str, start_ns: int) -> SpanRecord:
    """A bare ``claude_code.interaction`` root, as Claude Code exports it (hooks not installed)."""
    return SpanRecord(
        trace_id=trace_id,
        span_id=trace_id[:16],
        parent_span_id=None,
        name=sc.CC_SPAN_NAME_PREFIX + sc.CC_SPAN_INTERACTION,
        kind="INTERNAL",
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + 1_000_000_000,
        status_code="UNSET",
        status_message="",
        attributes={sc.CC_SPAN_TYPE: sc.CC_SPAN_INTERACTION, sc.SESSION_ID: session_id},
        events=(),
        resource={sc.SERVICE_NAME: "claude-code"},
        scope_name=sc.CC_TRACING_SCOPE,
    )


def hook_turn_span(session_id: str, trace_id: str, start_ns: int) -> SpanRecord:
    """A bare hook turn root (``claude_code.turn``) of another trace."""
    return SpanRecord(
        trace_id=trace_id,
        span_id=trace_id[16:],
        parent_span_id=None,
        name=sc.SPAN_NAME_TURN,
        kind="INTERNAL",
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + 1_000_000_000,
        status_code="OK",
        status_message="",
        attributes={sc.SPAN_TYPE: sc.SPAN_TYPE_TURN, sc.SESSION_ID: session_id},
        events=(),
        resource={sc.SERVICE_NAME: sc.DEFAULT_SERVICE_NAME},
        scope_name=sc.INSTRUMENTATION_SCOPE,
    )
