"""A multi-worker collector: every span stored once, and killing it leaves no worker behind."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import psutil

from tests.support.collector import start_collector, stop_collector, wait_until
from tests.support.db import fetch
from tests.support.ingest_payloads import otlp_json_body
from traceability.instrumentation.spool import write_spool_file


def test_two_workers_store_everything_once_and_die_with_the_supervisor(db_dsn: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    for i in range(6):  # spool files too: both workers drain, flock keeps them apart
        write_spool_file(str(spool), f"{i:04d}-f", [otlp_json_body(0x700 + i, 3)])
    collector = start_collector(db_dsn, spool, tmp_path / "c.log", extra_args=("--workers", "2"))
    try:
        supervisor = psutil.Process(collector.process.pid)
        wait_until(lambda: len(supervisor.children()) >= 2, what="two worker processes")
        workers = supervisor.children()
        with httpx.Client() as client:
            for i in range(20):
                response = client.post(
                    collector.traces_url,
                    content=otlp_json_body(0x800 + i, 3),
                    headers={"Content-Type": "application/json"},
                )
                assert response.status_code == 200
        wait_until(
            lambda: fetch(db_dsn, "SELECT count(*) AS n FROM hook_executions")[0]["n"] == 26 * 3,
            what="all spans stored",
        )
        rows = fetch(db_dsn, "SELECT count(*) AS n, count(DISTINCT id) AS d FROM hook_executions")[0]
        assert rows == {"n": 78, "d": 78}
        assert not list(spool.glob("*.json"))

        collector.process.send_signal(signal.SIGKILL)  # the supervisor dies without cleaning up
        collector.process.wait(timeout=10)
        _gone, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive, f"workers outlived the supervisor: {[p.pid for p in alive]}"
    finally:
        stop_collector(collector)
