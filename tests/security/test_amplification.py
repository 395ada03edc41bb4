"""Issue 11 item 5: stored size stays within a small constant of the body size, and a per-span cap.

A kvlist nested 8 levels deep used to be JSON-encoded at every level, each level escaping the
quotes and backslashes of the one inside (~2x per level, ~256x in all).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tests.support.collector import running_collector, wait_until
from tests.support.db import fetch
from tests.support.ingest_payloads import body, plant, turn_payload
from tests.support.spans import make_turn
from traceability.exporter.codec.traces import decode_protobuf
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.spool import write_spool_file

DEPTH = 8
STORED_COLUMNS = (
    "attributes",
    "events",
    "resource",
    "input_data",
    "output_data",
    "metadata",
    "quality_results",
)


def _nested(target: AnyValue, depth: int, leaf: str) -> None:
    if depth == 0:
        target.string_value = leaf
        return
    kv = target.kvlist_value.values.add(key=f'level "{depth}"')
    _nested(kv.value, depth - 1, leaf)


def _request_with_nested_kvlist(leaf: str) -> ExportTraceServiceRequest:
    request = encode_spans(make_turn(0xF100, hooks=9))
    hook = next(s for s in request.resource_spans[0].scope_spans[0].spans if s.parent_span_id)
    _nested(hook.attributes.add(key="tool.input.nested").value, DEPTH, leaf)
    return request


def _stored_bytes(dsn: str) -> int:
    columns = " + ".join(f"coalesce(octet_length({c}::text), 0)" for c in STORED_COLUMNS)
    return int(fetch(dsn, f"SELECT coalesce(sum({columns}), 0) AS n FROM hook_executions")[0]["n"])


def test_nested_kvlist_is_json_once_not_json_strings_in_json_strings() -> None:
    request = _request_with_nested_kvlist('a "quoted" \\ value')
    span = next(s for s in decode_protobuf(request.SerializeToString()).spans if s.parent_span_id)
    value: Any = json.loads(str(span.attributes["tool.input.nested"]))
    for depth in range(DEPTH, 0, -1):
        assert isinstance(value, dict), value
        value = value[f'level "{depth}"']
    assert value == 'a "quoted" \\ value'


def test_stored_size_stays_within_a_small_constant_of_the_body(db_dsn: str, tmp_path: Path) -> None:
    payload = _request_with_nested_kvlist(
        '"\\' * 32_000
    ).SerializeToString()  # 64 KB of quotes and backslashes
    with running_collector(db_dsn, tmp_path) as collector:
        response = httpx.post(
            collector.traces_url, content=payload, headers={"Content-Type": "application/x-protobuf"}
        )
    assert response.status_code == 200, response.text
    assert int(fetch(db_dsn, "SELECT count(*) AS n FROM hook_executions")[0]["n"]) == 9
    assert _stored_bytes(db_dsn) <= 8 * len(payload), (_stored_bytes(db_dsn), len(payload))


def test_a_span_over_the_stored_size_cap_is_rejected_alone(db_dsn: str, tmp_path: Path) -> None:
    cap = 200_000
    payload = turn_payload(0xF200)
    plant(payload, "hook", sc.INPUT_DATA, {"stringValue": json.dumps({"content": "x" * 300_000})})
    with running_collector(db_dsn, tmp_path, {"TRACEABILITY_MAX_SPAN_STORED_BYTES": str(cap)}) as collector:
        response = httpx.post(
            collector.traces_url, content=body(payload), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200, response.text
        partial = response.json()["partialSuccess"]
        assert partial["rejectedSpans"] == "1" and "per-span cap" in partial["errorMessage"], partial
        assert int(fetch(db_dsn, "SELECT count(*) AS n FROM hook_executions")[0]["n"]) == 8

        spooled = turn_payload(0xF300)
        plant(spooled, "hook", sc.INPUT_DATA, {"stringValue": json.dumps({"content": "y" * 300_000})})
        write_spool_file(str(collector.spool_dir), "0001-big", [body(spooled)])  # as a hook writes it
        rejected = collector.spool_dir / "rejected"
        wait_until(lambda: list(rejected.glob("db-rejected-*.json.reason")), what="the big span kept aside")
        assert "per-span cap" in next(rejected.glob("db-rejected-*.json.reason")).read_text()
        assert int(fetch(db_dsn, "SELECT count(*) AS n FROM hook_executions")[0]["n"]) == 16
        assert _stored_bytes(db_dsn) < 2 * cap
