"""The spool drainer, and no span lost or doubled while PostgreSQL is down."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from tests.support.collector import running_collector, wait_until
from tests.support.db import fetch
from tests.support.ingest_payloads import otlp_json_body
from tests.support.spans import make_turn
from traceability.exporter.devtools.embedded_pg import EmbeddedPostgres
from traceability.exporter.storage import database
from traceability.instrumentation.otlp_encode import request_to_otlp_json
from traceability.instrumentation.spool import write_spool_file


def _count(dsn: str) -> tuple[int, int]:
    row = fetch(
        dsn,
        "SELECT (SELECT count(*) FROM execution_traces) AS t, (SELECT count(*) FROM hook_executions) AS h",
    )[0]
    return int(row["t"]), int(row["h"])


def test_spool_files_are_drained_then_removed(db_dsn: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    lines = [request_to_otlp_json(encode_spans(make_turn(0x100 + i, hooks=2))) for i in range(3)]
    write_spool_file(str(spool), "0001-a", lines[:2])
    write_spool_file(str(spool), "0002-b", lines[2:])
    (spool / ".0003-c.tmp").write_bytes(lines[0])  # a writer's half-written temp file: not touched
    with running_collector(db_dsn, tmp_path) as collector:
        wait_until(lambda: _count(db_dsn) == (3, 6), what="3 traces and 6 hook rows")
        wait_until(lambda: not list(spool.glob("*.json")), what="spool files removed")
        assert collector.health()["drainer"]["files_drained"] == 2  # type: ignore[index]
    assert (spool / ".0003-c.tmp").exists()


def test_bad_spool_lines_are_kept_aside_and_good_spans_stored(db_dsn: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    good = request_to_otlp_json(encode_spans(make_turn(0x200, hooks=2)))
    write_spool_file(str(spool), "0001-mixed", [b"this is not json", good, b'{"resourceSpans": 5}'])
    with running_collector(db_dsn, tmp_path):
        wait_until(lambda: _count(db_dsn) == (1, 2), what="the good request stored")
        wait_until(lambda: (spool / "rejected" / "0001-mixed.json").exists(), what="file moved to rejected/")
    assert not (spool / "0001-mixed.json").exists()


def test_postgres_down_while_spans_arrive_every_span_stored_exactly_once(tmp_path: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="pg-fault-"))
    root.chmod(0o755)
    pg = EmbeddedPostgres(cluster_dir=root / "pg", fast_unsafe=True)
    pg.start()
    try:
        database.upgrade(pg.dsn)
        sent_hooks = 0
        with running_collector(pg.dsn, tmp_path) as collector:
            headers = {"Content-Type": "application/json"}
            for i in range(5):  # database up
                assert (
                    httpx.post(
                        collector.traces_url, content=otlp_json_body(0x300 + i, 4), headers=headers
                    ).status_code
                    == 200
                )
                sent_hooks += 4
            pg.stop("immediate")
            for i in range(5, 15):  # database down: 200 means durably queued on disk
                response = httpx.post(
                    collector.traces_url, content=otlp_json_body(0x300 + i, 4), headers=headers, timeout=30
                )
                assert response.status_code == 200, response.text
                sent_hooks += 4
            # a hook's spool file written while the database is down, too
            write_spool_file(str(collector.spool_dir), "0009-hook", [otlp_json_body(0x400, 3)])
            sent_hooks += 3
            assert list(collector.spool_dir.glob("*.json"))
            pg.start()
            wait_until(lambda: _count(pg.dsn) == (16, sent_hooks), timeout=90, what="all spans stored")
            # replaying everything once more changes nothing
            for i in range(15):
                httpx.post(collector.traces_url, content=otlp_json_body(0x300 + i, 4), headers=headers)
            wait_until(lambda: not list(collector.spool_dir.glob("*.json")), what="spool empty")
        assert _count(pg.dsn) == (16, sent_hooks)
        rows = fetch(pg.dsn, "SELECT count(DISTINCT id) AS n, count(*) AS m FROM hook_executions")[0]
        assert rows["n"] == rows["m"] == sent_hooks
        statuses = fetch(pg.dsn, "SELECT DISTINCT status FROM execution_traces")
        assert statuses == [{"status": "completed"}]
    finally:
        pg.destroy()


def test_child_before_root_creates_in_progress_trace_that_root_completes(db_dsn: str, tmp_path: Path) -> None:
    payload = json.loads(otlp_json_body(0x500, 2))
    spans = payload["resourceSpans"][0]["scopeSpans"][0]["spans"]
    children = [s for s in spans if s.get("parentSpanId")]
    root = [s for s in spans if not s.get("parentSpanId")]
    headers = {"Content-Type": "application/json"}
    with running_collector(db_dsn, tmp_path) as collector:
        payload["resourceSpans"][0]["scopeSpans"][0]["spans"] = children
        assert (
            httpx.post(collector.traces_url, content=json.dumps(payload), headers=headers).status_code == 200
        )
        placeholder = fetch(db_dsn, "SELECT status, source, root_received FROM execution_traces")
        assert placeholder == [{"status": "in_progress", "source": "unknown", "root_received": False}]
        payload["resourceSpans"][0]["scopeSpans"][0]["spans"] = root
        assert (
            httpx.post(collector.traces_url, content=json.dumps(payload), headers=headers).status_code == 200
        )
    done = fetch(db_dsn, "SELECT status, source, root_received, prompt_text FROM execution_traces")
    assert done == [
        {
            "status": "completed",
            "source": "user-prompt-submit",
            "root_received": True,
            "prompt_text": "Implement authentication system",
        }
    ]
    assert _count(db_dsn) == (1, 2)
