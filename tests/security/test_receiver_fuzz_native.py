"""/v1/logs and /v1/metrics fuzzed with hypothesis against the real collector and database.

The same properties as for traces: no 5xx; a 200 answer's log records / data points are each
either stored or counted in ``partial_success``; a 4xx stores nothing; the collector keeps serving.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import httpx
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from tests.support.collector import running_collector
from tests.support.db import fetch
from tests.support.fuzz_support import EXAMPLES, FUZZ, T0, attribute
from tests.support.hostile import json_values

_seq = iter(range(1, 10**9))


def _counts(dsn: str) -> int:
    row = fetch(
        dsn,
        "SELECT (SELECT count(*) FROM claude_code_events) + (SELECT count(*) FROM claude_code_metric_points) AS n",
    )
    return int(row[0]["n"])


@st.composite
def log_record(draw: st.DrawFn) -> dict[str, Any]:
    # a unique event.sequence per record: each stored record is its own row
    attrs = [{"key": "event.sequence", "value": {"intValue": str(next(_seq))}},
             *draw(st.lists(attribute(), max_size=5)),
             *draw(st.lists(st.sampled_from([
                 {"key": "event.name", "value": {"stringValue": "api_request"}},
                 {"key": "input_tokens", "value": {"stringValue": "12x"}},
                 {"key": "cost_usd", "value": {"doubleValue": 1e308}},
                 {"key": "prompt", "value": {"stringValue": "sk-ant-" + "a" * 30}}]), max_size=3))]  # fmt: skip
    record: dict[str, Any] = {
        "timeUnixNano": draw(
            st.one_of(st.just(str(T0 + next(_seq))), st.sampled_from(["0", "-1", "x", 1.5]))
        ),
        "body": draw(st.one_of(st.just({"stringValue": "claude_code.api_request"}), json_values)),
        "attributes": attrs,
    }
    if draw(st.booleans()):
        record["traceId"] = draw(st.sampled_from(["ab" * 16, "ab" * 8, "zz", "", "00" * 16]))
        record["spanId"] = draw(st.sampled_from(["cd" * 8, "cd", "00" * 8]))
    return record


@st.composite
def metric(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["sum", "gauge", "histogram", "summary"]))
    point: dict[str, Any] = {
        "timeUnixNano": draw(st.sampled_from([str(T0), "0"])),
        "attributes": draw(st.lists(attribute(), max_size=3)),
    }
    if kind == "histogram":
        point.update(
            sum=draw(st.floats(allow_nan=True)),
            count="3",
            bucketCounts=["1", "2"],
            explicitBounds=draw(st.lists(st.floats(), max_size=2)),
        )
    else:
        point["asDouble"] = draw(st.floats(allow_nan=True, allow_infinity=True))
    body: dict[str, Any] = {
        "dataPoints": [point],
        "aggregationTemporality": draw(st.integers(-1, 4)),
        "isMonotonic": True,
    }
    return {"name": f"m{next(_seq)}" if draw(st.integers(0, 9)) else "", kind: body}


def _parse(response: httpx.Response, message: Message) -> Message:
    if response.headers["content-type"] == "application/json":
        return json_format.Parse(response.content or b"{}", message)
    message.ParseFromString(response.content)
    return message


def _check(dsn: str, before: int, sent: int, response: httpx.Response, logs: bool) -> None:
    assert response.status_code < 500, response.text
    stored = _counts(dsn) - before
    if response.status_code == 200:
        parsed: Any = _parse(
            response, ExportLogsServiceResponse() if logs else ExportMetricsServiceResponse()
        )
        rejected = (
            parsed.partial_success.rejected_log_records
            if logs
            else parsed.partial_success.rejected_data_points
        )
        assert stored + rejected == sent, f"stored {stored} + rejected {rejected} != sent {sent}"
    else:
        assert response.status_code == 400, response.text
        assert stored == 0


def test_logs_and_metrics_receivers_fuzzed(db_dsn: str, tmp_path: Path) -> None:
    fuzz = settings(FUZZ, max_examples=max(EXAMPLES // 2, 10))
    with running_collector(db_dsn, tmp_path) as collector, httpx.Client(timeout=30) as client:

        def post(path: str, body: bytes, content_type: str, **headers: str) -> httpx.Response:
            return client.post(
                collector.url + path, content=body, headers={"Content-Type": content_type, **headers}
            )

        @fuzz
        @given(st.lists(log_record(), min_size=1, max_size=5), st.booleans())
        def logs(records: list[dict[str, Any]], as_protobuf: bool) -> None:
            payload = {"resourceLogs": [{"resource": {}, "scopeLogs": [{"logRecords": records}]}]}
            before = _counts(db_dsn)
            if not as_protobuf:
                _check(
                    db_dsn,
                    before,
                    len(records),
                    post("/v1/logs", json.dumps(payload).encode(), "application/json"),
                    True,
                )
                return
            try:
                for r in records:
                    for key in ("traceId", "spanId"):
                        if key in r:
                            r[key] = base64.b64encode(bytes.fromhex(r[key])).decode()
                message = json_format.ParseDict(payload, ExportLogsServiceRequest())
            except (json_format.ParseError, ValueError, TypeError):
                return
            body = gzip.compress(message.SerializeToString())
            response = post("/v1/logs", body, "application/x-protobuf", **{"Content-Encoding": "gzip"})
            _check(db_dsn, before, len(records), response, True)

        @fuzz
        @given(st.lists(metric(), min_size=1, max_size=4))
        def metrics(items: list[dict[str, Any]]) -> None:
            payload = {"resourceMetrics": [{"scopeMetrics": [{"metrics": items}]}]}
            before = _counts(db_dsn)
            _check(
                db_dsn,
                before,
                len(items),
                post("/v1/metrics", json.dumps(payload).encode(), "application/json"),
                False,
            )

        @fuzz
        @given(st.binary(max_size=2048), st.sampled_from(["/v1/logs", "/v1/metrics"]))
        def raw(body: bytes, path: str) -> None:
            before = _counts(db_dsn)
            response = post(path, body, "application/x-protobuf")
            # random bytes are a request exactly when protobuf itself can parse them
            request = ExportLogsServiceRequest() if path == "/v1/logs" else ExportMetricsServiceRequest()
            try:
                request.ParseFromString(body)
                parses = True
            except DecodeError:
                parses = False
            assert response.status_code == (200 if parses else 400), (parses, response.text)
            if response.status_code == 400:
                assert _counts(db_dsn) == before

        logs()
        metrics()
        raw()
        assert (
            post(
                "/v1/logs", b'{"resourceLogs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json"
            ).status_code
            == 400
        )
        health = collector.health()
        assert collector.process.poll() is None and health["status"] == "ok"
        assert health["receiver"]["records_queued_on_disk"] == 0  # type: ignore[index]
    secrets = fetch(
        db_dsn, "SELECT count(*) AS n FROM claude_code_events WHERE attributes::text LIKE '%sk-ant-%'"
    )
    assert secrets[0]["n"] == 0
