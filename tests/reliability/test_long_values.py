"""Issue 11 item 1: a value no index can hold never stops ingest, over HTTP nor through the spool.

Every text column of the ingest tables that a btree index holds (execution_traces.status,
hook_executions.session_id and tool_use_id), or that derivation copies into one
(hook_executions.file_path -> pattern_locations / pattern_lineage_nodes, execution_traces.user_id
-> pattern_execution_keys), gets a 3,000-4,000 character random value in one span of ten.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from tests.support.collector import running_collector, wait_until
from tests.support.db import fetch
from tests.support.ingest_payloads import body, incompressible, plant, turn_payload
from tests.support.native_recorded import otlp_bodies
from tests.support.scripted_session import ScriptedSession
from traceability.exporter.storage.limits import INDEXED_TEXT_MAX_BYTES
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.spool import write_spool_file
from traceability.lineage_api.deriver.pipeline import PatternDeriver

JSON_HEADERS = {"Content-Type": "application/json"}

# (span, attribute, table, column)
INDEXED = [
    ("hook", sc.SESSION_ID, "hook_executions", "session_id"),
    ("hook", sc.GEN_AI_TOOL_CALL_ID, "hook_executions", "tool_use_id"),
    ("hook", sc.CODE_FILE_PATH, "hook_executions", "file_path"),
    ("root", sc.TRACE_STATUS, "execution_traces", "status"),
    ("root", sc.USER_ID, "execution_traces", "user_id"),
    ("root", sc.PROMPT_ID, "execution_traces", "prompt_id"),
]

# Claude Code's own logs and metrics: (signal, attribute, table, column), each btree-indexed
NATIVE_INDEXED = [
    ("logs", sc.SESSION_ID, "claude_code_events", "session_id"),
    ("logs", sc.PROMPT_ID, "claude_code_events", "prompt_id"),
    ("logs", sc.CC_TOOL_USE_ID, "claude_code_events", "tool_use_id"),
    ("metrics", sc.SESSION_ID, "claude_code_metric_points", "session_id"),
]


def _rows(dsn: str, trace: int) -> tuple[int, int]:
    t = uuid.UUID(int=trace)
    row = fetch(
        dsn,
        "SELECT (SELECT count(*) FROM execution_traces WHERE id = $1 AND root_received) AS t,"
        " (SELECT count(*) FROM hook_executions WHERE trace_id = $1) AS h",
        t,
    )[0]
    return int(row["t"]), int(row["h"])


def _check_stored(dsn: str, trace: int, table: str, column: str, key: str, long: str) -> None:
    id_column = "id" if table == "execution_traces" else "trace_id"
    rows = fetch(
        dsn,
        f"SELECT {column} AS v, attributes->>$2 AS whole FROM {table}"  # test constants
        f" WHERE {id_column} = $1 AND attributes ? $2",
        uuid.UUID(int=trace),
        key,
    )
    assert len(rows) == 1, rows
    shortened, whole = rows[0]["v"], rows[0]["whole"]
    assert whole == long  # kept whole where it is stored
    assert len(shortened.encode()) <= INDEXED_TEXT_MAX_BYTES < len(long)
    assert shortened.startswith(long[:500]) and shortened.endswith(long[-32:])


@pytest.mark.parametrize(("where", "key", "table", "column"), INDEXED, ids=[c[3] for c in INDEXED])
def test_a_value_no_index_can_hold_is_shortened_for_the_index_and_kept_whole(
    db_dsn: str, tmp_path: Path, where: str, key: str, table: str, column: str
) -> None:
    length = 4000 if key == sc.TRACE_STATUS else 3000
    with running_collector(db_dsn, tmp_path) as collector:
        # over HTTP: the request's other 9 spans and the planted one are all stored
        http_long = incompressible(length, seed=1)
        payload = turn_payload(0xA100)
        plant(payload, where, key, {"stringValue": http_long})
        response = httpx.post(collector.traces_url, content=body(payload), headers=JSON_HEADERS)
        assert response.status_code == 200, response.text
        assert "partialSuccess" not in response.json() or not response.json()["partialSuccess"]
        assert _rows(db_dsn, 0xA100) == (1, 9)
        _check_stored(db_dsn, 0xA100, table, column, key, http_long)

        # through the spool: the poison file and the file after it are both drained
        spool_long = incompressible(length, seed=2)
        poison = turn_payload(0xA200)
        plant(poison, where, key, {"stringValue": spool_long})
        write_spool_file(str(collector.spool_dir), "0001-poison", [body(poison)])
        write_spool_file(str(collector.spool_dir), "0002-after", [body(turn_payload(0xA300))])
        wait_until(lambda: _rows(db_dsn, 0xA300) == (1, 9), what="the file after the poison one drained")
        assert _rows(db_dsn, 0xA200) == (1, 9)
        _check_stored(db_dsn, 0xA200, table, column, key, spool_long)
        assert not list(collector.spool_dir.glob("*.json"))
        health = httpx.get(collector.url + "/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok", health.text


def test_equal_long_values_stay_equal_and_different_ones_stay_different(db_dsn: str, tmp_path: Path) -> None:
    """Shortening is deterministic (replays and lookups agree) and keeps distinct values apart."""
    long = incompressible(3000, seed=3)
    other = long[:-1] + ("a" if long[-1] != "a" else "b")
    with running_collector(db_dsn, tmp_path) as collector:
        for trace, value in ((0xB100, long), (0xB200, long), (0xB300, other)):
            payload = turn_payload(trace, hooks=1)
            plant(payload, "hook", sc.SESSION_ID, {"stringValue": value})
            assert (
                httpx.post(collector.traces_url, content=body(payload), headers=JSON_HEADERS).status_code
                == 200
            )
    rows = fetch(db_dsn, "SELECT session_id, count(*) AS n FROM hook_executions GROUP BY 1 ORDER BY 2")
    assert sorted(int(r["n"]) for r in rows) == [1, 2]


async def test_long_ids_and_paths_are_derived_into_patterns(db_pool: asyncpg.Pool, db_dsn: str) -> None:
    """Derivation copies file_path, session and user ids into indexed columns of its own tables."""
    long_dir = "/repo/" + incompressible(3000, seed=4)
    session = ScriptedSession(session_id=incompressible(3000, seed=5), user_id=incompressible(3000, seed=6))
    session.turn()
    session.tool("Write", long_dir + "/area.py", "def area(r):\n    return 3.14159 * r * r\n")
    session.tool("Write", "/repo/short.py", "def short():\n    return 1\n")
    await session.flush(db_dsn)
    result = await PatternDeriver().run(db_pool)
    assert (result.executions, result.failed) == (2, 0)
    async with db_pool.acquire() as conn:
        paths = [r["file_path"] for r in await conn.fetch("SELECT file_path FROM pattern_executions")]
        assert len(paths) == 2 and max(len(p.encode()) for p in paths) <= INDEXED_TEXT_MAX_BYTES
        assert any(p.endswith("/area.py") for p in paths)  # the shortened path keeps its file name
        keys = await conn.fetchval("SELECT count(*) FROM pattern_execution_keys")
        assert keys == 2  # one session, one user


def _first_native_item(
    request: ExportLogsServiceRequest | ExportMetricsServiceRequest,
) -> RepeatedCompositeFieldContainer[KeyValue]:
    """The attributes of the request's first log record or first metric's first data point."""
    if isinstance(request, ExportLogsServiceRequest):
        return request.resource_logs[0].scope_logs[0].log_records[0].attributes
    metric = request.resource_metrics[0].scope_metrics[0].metrics[0]
    data = getattr(metric, metric.WhichOneof("data") or "sum")
    attributes: RepeatedCompositeFieldContainer[KeyValue] = data.data_points[0].attributes
    return attributes


@pytest.mark.parametrize(
    ("signal", "key", "table", "column"), NATIVE_INDEXED, ids=[f"{c[2]}.{c[3]}" for c in NATIVE_INDEXED]
)
def test_a_long_value_in_claude_codes_logs_and_metrics_is_shortened_for_the_index(
    db_dsn: str, tmp_path: Path, signal: str, key: str, table: str, column: str
) -> None:
    """Found by the hostile soak (bench/soak --hostile): a 4,000-character session.id in a log
    record answered 500 (idx_cc_events_session) and lost the whole request."""
    raw = next(b.raw() for b in otlp_bodies("protobuf-gzip") if b.signal == signal)
    request = (ExportLogsServiceRequest if signal == "logs" else ExportMetricsServiceRequest).FromString(raw)
    long = incompressible(4000, seed=7)
    attributes = _first_native_item(request)
    kept = [kv for kv in attributes if kv.key != key]
    del attributes[:]
    attributes.extend(kept)
    attributes.add(key=key).value.string_value = long
    with running_collector(db_dsn, tmp_path) as collector:
        response = httpx.post(
            f"{collector.url}/v1/{signal}",
            content=request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert response.status_code == 200, response.text
        accepted = collector.health()["receiver"]
    what = "log_records" if signal == "logs" else "metric_points"
    assert accepted[f"{what}_rejected"] == 0, accepted  # type: ignore[index]
    stored = int(fetch(db_dsn, f"SELECT count(*) AS n FROM {table}")[0]["n"])  # test constants
    assert stored == accepted[f"{what}_accepted"] > 0  # type: ignore[index]
    rows = fetch(
        db_dsn,
        f"SELECT {column} AS v, attributes->>$1 AS whole FROM {table} WHERE length({column}) > 500",
        key,
    )
    assert len(rows) == 1, rows
    assert rows[0]["whole"] == long  # kept whole where it is stored
    shortened = rows[0]["v"]
    assert len(shortened.encode()) <= INDEXED_TEXT_MAX_BYTES
    assert shortened.startswith(long[:500]) and shortened.endswith(long[-32:])


def test_a_record_the_database_refuses_is_rejected_alone_and_the_others_are_kept(
    db_dsn: str, tmp_path: Path
) -> None:
    """A metric name too long for its btree index (idx_cc_metrics_name) is refused by PostgreSQL
    itself (program_limit_exceeded): that point is rejected with partial_success, the request's
    other points are stored, and the answer is 200, not 500."""
    raw = next(b.raw() for b in otlp_bodies("protobuf-gzip") if b.signal == "metrics")
    request = ExportMetricsServiceRequest.FromString(raw)
    metrics = request.resource_metrics[0].scope_metrics[0].metrics
    assert len(metrics) > 1
    metrics[0].name = incompressible(4000, seed=11)
    with running_collector(db_dsn, tmp_path) as collector:
        response = httpx.post(
            f"{collector.url}/v1/metrics",
            content=request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert response.status_code == 200, response.text
        answer = ExportMetricsServiceResponse.FromString(response.content)
        counts = collector.health()["receiver"]
    points = [len(getattr(m, m.WhichOneof("data") or "sum").data_points) for m in metrics]
    assert answer.partial_success.rejected_data_points == points[0] > 0
    assert "ProgramLimitExceeded" in answer.partial_success.error_message, (
        answer.partial_success.error_message
    )
    stored = int(fetch(db_dsn, "SELECT count(*) AS n FROM claude_code_metric_points")[0]["n"])
    assert stored == sum(points[1:]) == counts["metric_points_accepted"]  # type: ignore[index]
    assert counts["metric_points_rejected"] == points[0]  # type: ignore[index]
    longest = fetch(
        db_dsn, "SELECT coalesce(max(length(metric_name)), 0) AS n FROM claude_code_metric_points"
    )
    assert int(longest[0]["n"]) < 4000
