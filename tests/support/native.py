"""Posting recorded Claude Code telemetry to a collector and waiting for it, shared by the native and UI tests."""

from __future__ import annotations

import uuid

import httpx

from tests.support.collector import Collector
from tests.support.native_recorded import OtlpBody


def post(collector: Collector, body: OtlpBody) -> None:
    response = httpx.post(
        f"{collector.url}/v1/{body.signal}", content=body.body, headers=body.headers, timeout=10
    )
    assert response.status_code == 200, (body.name, response.text)


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
