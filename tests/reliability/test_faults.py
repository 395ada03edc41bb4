"""Faults under a sustained span stream, counted the OTel Collector testbed way: spans sent against
rows stored, plus a field-by-field sample. PostgreSQL killed (-m immediate) and restarted; the
collector SIGKILLed while receiving and while draining the spool, then restarted; the API with its
database gone answers 503 with a message and recovers by itself."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.api_process import running_api
from tests.support.collector import Collector, running_collector, start_collector, stop_collector, wait_until
from tests.support.span_load import add_turn
from tests.support.span_stream import SpanStream, count_run, sample_mismatches
from traceability.exporter.devtools.embedded_pg import EmbeddedPostgres
from traceability.instrumentation.otlp_encode import request_to_otlp_json
from traceability.instrumentation.spool import write_spool_file

HOOKS = 4


def _wait_acked(stream: SpanStream, requests: int, timeout: float = 60) -> None:
    target = stream.stats.requests_ok + requests
    wait_until(lambda: stream.stats.requests_ok >= target, timeout=timeout, what=f"{requests} more acks")


def _assert_all_stored_once(dsn: str, run: int, turns: int, hooks: int = HOOKS) -> None:
    wait_until(
        lambda: count_run(dsn, run, hooks, turns)["hooks"] >= turns * hooks,
        timeout=120,
        what=f"{turns * hooks} hook rows of run {run}",
    )
    counts = count_run(dsn, run, hooks, turns)
    assert counts == {
        "traces": turns,
        "complete_traces": turns,
        "hooks": turns * hooks,
        "distinct_hooks": turns * hooks,
    }
    assert sample_mismatches(dsn, run, [0, turns // 3, turns // 2, turns - 1], hooks) == []


def test_postgres_killed_and_restarted_during_a_sustained_stream(
    own_pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    with running_collector(own_pg.dsn, tmp_path) as collector:
        stream = SpanStream(collector.traces_url, run=1, turns_per_request=10, hooks=HOOKS).start()
        try:
            _wait_acked(stream, 10)
            own_pg.stop("immediate")  # like a crash: no shutdown checkpoint
            _wait_acked(stream, 3)  # acknowledged while the database is down: queued on disk
            assert collector.health()["receiver"]["spans_queued_on_disk"] > 0  # type: ignore[index]
            own_pg.start()
            _wait_acked(stream, 10)
        finally:
            stats = stream.stop()
        turns = stream.turns_sent
        assert stats.turns_acked == turns
        _assert_all_stored_once(own_pg.dsn, 1, turns)
        wait_until(lambda: not list(collector.spool_dir.glob("*.json")), what="spool drained")
        assert not (collector.spool_dir / "rejected").exists()
    print(f"sent {stats.spans_acked} spans, statuses {dict(stats.statuses)}")


def _sigkill(collector: Collector) -> None:
    os.kill(collector.process.pid, signal.SIGKILL)
    collector.process.wait(timeout=10)


def test_collector_sigkilled_while_receiving_then_restarted(db_dsn: str, tmp_path: Path) -> None:
    spool, log = tmp_path / "spool", tmp_path / "collector.log"
    collector = start_collector(db_dsn, spool, log)
    streams = [
        SpanStream(collector.traces_url, run=r, turns_per_request=20, hooks=HOOKS).start() for r in (2, 3)
    ]
    try:
        for _ in range(2):  # two kills, each with requests in flight
            _wait_acked(streams[0], 5)
            _sigkill(collector)
            time.sleep(0.3)  # senders see refused connections and retry
            collector = start_collector(db_dsn, spool, log)
            for stream in streams:
                stream.url = collector.traces_url
        for stream in streams:
            _wait_acked(stream, 5)
    finally:
        all_stats = [s.stop() for s in streams]
        stop_collector(collector)
    assert sum(s.connection_errors for s in all_stats) > 0  # the kills did cut requests
    collector = start_collector(db_dsn, spool, log)  # drains whatever the killed ones queued
    try:
        for stream, stats in zip(streams, all_stats, strict=True):
            assert stats.turns_acked == stream.turns_sent
            _assert_all_stored_once(db_dsn, stream.run, stream.turns_sent)
    finally:
        stop_collector(collector)


def test_collector_sigkilled_while_draining_the_spool_then_restarted(db_dsn: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    files, turns_per_file = 160, 25
    for f in range(files):  # as hooks leave them: many small files, each a few requests
        lines = []
        for part in range(5):
            request = ExportTraceServiceRequest()
            for t in range(f * turns_per_file + part * 5, f * turns_per_file + part * 5 + 5):
                add_turn(request, 4, t, HOOKS)
            lines.append(request_to_otlp_json(request))
        write_spool_file(str(spool), f"{f:06d}-hook", lines, fsync=False)
    turns = files * turns_per_file
    log = tmp_path / "collector.log"
    kills = 0
    for _ in range(3):
        collector = start_collector(db_dsn, spool, log)
        remaining = len(list(spool.glob("*.json")))
        try:
            wait_until(
                lambda n=remaining: len(list(spool.glob("*.json"))) < n or n == 0,
                timeout=30,
                what="drain progress",
            )
        finally:
            if len(list(spool.glob("*.json"))) > 0:
                _sigkill(collector)
                kills += 1
            else:
                stop_collector(collector)
    print(f"{kills} kills while draining {files} spool files")
    assert kills >= 1, "the spool drained before any kill; make it bigger"
    with running_collector(db_dsn, tmp_path):
        _assert_all_stored_once(db_dsn, 4, turns)
        wait_until(lambda: not list(spool.glob("*.json")), what="spool empty")
    assert not (spool / "rejected").exists()


def test_api_with_the_database_down_answers_503_and_recovers_by_itself(
    own_pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    track = {"event_type": "pattern_created", "pattern_id": "fault-api", "pattern_name": "f"}
    with running_api(own_pg.dsn, tmp_path / "api.log") as api:
        assert httpx.post(api.api + "/lineage/track", json=track).status_code == 200
        own_pg.stop("immediate")
        for method, path, body in (
            ("GET", "/health", None),
            ("GET", "/lineage/fault-api", None),
            ("POST", "/lineage/track", {**track, "pattern_id": "fault-api-2"}),
        ):
            down = httpx.request(method, api.api + path, json=body, timeout=30)
            assert down.status_code == 503, (path, down.text)
            assert "database unavailable" in down.json()["error"], down.text
        assert api.process.poll() is None
        own_pg.start()

        def healthy() -> bool:
            return httpx.get(api.api + "/health", timeout=10).status_code == 200

        wait_until(healthy, timeout=30, what="the API healthy again without a restart")
        again = httpx.get(api.api + "/lineage/fault-api", timeout=10)
        assert again.status_code == 200, again.text
        assert again.json()["data"]["pattern_id"] == "fault-api"
        assert (
            httpx.post(api.api + "/lineage/track", json={**track, "pattern_id": "fault-api-2"}).status_code
            == 200
        )


@pytest.mark.slow
def test_postgres_killed_repeatedly_during_a_long_stream(own_pg: EmbeddedPostgres, tmp_path: Path) -> None:
    with running_collector(own_pg.dsn, tmp_path) as collector:
        streams = [
            SpanStream(collector.traces_url, run=r, turns_per_request=10, hooks=HOOKS).start() for r in (5, 6)
        ]
        try:
            for _ in range(5):
                _wait_acked(streams[0], 20)
                own_pg.stop("immediate")
                _wait_acked(streams[0], 2)
                own_pg.start()
        finally:
            for s in streams:
                s.stop()
        for s in streams:
            _assert_all_stored_once(own_pg.dsn, s.run, s.turns_sent)
