"""Issue 11 item 1: the spool drainer is supervised, and /healthz tells the truth about it.

Faults are real: a renamed table (every write fails, not a data error), a trigger that rejects
one file's spans with a non-data error, a table lock that makes the drain wait, a cancelled task.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import httpx

from tests.support.collector import running_collector, wait_until
from tests.support.db import fetch
from tests.support.ingest_payloads import body, turn_payload
from traceability.collector.drainer import SpoolDrainer
from traceability.exporter.storage.writer import SpanWriter
from traceability.instrumentation.spool import write_spool_file


def _hooks(dsn: str, trace: int) -> int:
    return int(
        fetch(dsn, "SELECT count(*) AS n FROM hook_executions WHERE trace_id = $1", uuid.UUID(int=trace))[0][
            "n"
        ]
    )


def _health(url: str) -> tuple[int, dict[str, object]]:
    response = httpx.get(url + "/healthz", timeout=10)
    return response.status_code, response.json()


def _execute(dsn: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def test_a_failing_drainer_is_restarted_and_reported_unhealthy_until_it_recovers(
    db_dsn: str, tmp_path: Path
) -> None:
    with running_collector(db_dsn, tmp_path) as collector:
        _execute(db_dsn, "ALTER TABLE hook_executions RENAME TO hook_executions_away")
        try:
            write_spool_file(str(collector.spool_dir), "0001-a", [body(turn_payload(0xC100, hooks=2))])

            def failing() -> bool:
                status, health = _health(collector.url)
                return status == 503 and health["status"] == "unhealthy"

            wait_until(failing, what="/healthz 503 while every drain fails")
            _, health = _health(collector.url)
            problems = " ".join(health["problems"])  # type: ignore[arg-type]
            assert "failing" in problems and "hook_executions" in problems, health
            assert health["database"] == "up"  # the database answers; the drain is what fails
            assert (collector.spool_dir / "0001-a.json").exists()  # kept: the data is not at fault
        finally:
            _execute(db_dsn, "ALTER TABLE hook_executions_away RENAME TO hook_executions")
        wait_until(lambda: _hooks(db_dsn, 0xC100) == 2, what="drained after the fault is gone")
        wait_until(lambda: _health(collector.url)[0] == 200, what="/healthz 200 again")
        _, health = _health(collector.url)
        assert health["status"] == "ok" and health["problems"] == [], health
        assert health["drainer"]["restarts"] >= 1  # type: ignore[index]


def test_a_file_that_keeps_failing_while_others_drain_is_quarantined(db_dsn: str, tmp_path: Path) -> None:
    _execute(
        db_dsn,
        """
        CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.trace_id = '00000000-0000-0000-0000-00000000c200' THEN
                RAISE EXCEPTION 'this trace is refused';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_poison BEFORE INSERT ON hook_executions
            FOR EACH ROW EXECUTE FUNCTION refuse_poison();
        """,
    )
    spool = tmp_path / "spool"
    write_spool_file(str(spool), "0001-poison", [body(turn_payload(0xC200, hooks=2))])
    for i in range(4):
        write_spool_file(str(spool), f"000{i + 2}-good", [body(turn_payload(0xC300 + i, hooks=2))])
    with running_collector(db_dsn, tmp_path) as collector:
        wait_until(lambda: (spool / "rejected" / "0001-poison.json").exists(), timeout=60, what="quarantined")
        for i in range(4):
            assert _hooks(db_dsn, 0xC300 + i) == 2
        reason = (spool / "rejected" / "0001-poison.json.reason").read_text()
        assert "this trace is refused" in reason
        wait_until(lambda: _health(collector.url)[0] == 200, what="/healthz 200 once the poison is aside")
        assert not list(spool.glob("*.json"))


def test_a_stalled_drainer_is_reported_unhealthy(db_dsn: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        lock = await asyncpg.connect(db_dsn)
        try:
            tx = lock.transaction()
            await tx.start()
            await lock.execute("LOCK TABLE hook_executions IN ACCESS EXCLUSIVE MODE")
            env = {"TRACEABILITY_DRAIN_STALL_S": "1"}
            with running_collector(db_dsn, tmp_path, extra_env=env) as collector:
                write_spool_file(str(collector.spool_dir), "0001-a", [body(turn_payload(0xC400, hooks=2))])
                await asyncio.to_thread(
                    wait_until, lambda: _health(collector.url)[0] == 503, what="/healthz 503 while stalled"
                )
                _, health = _health(collector.url)
                assert "stalled" in " ".join(health["problems"]), health  # type: ignore[arg-type]
                await tx.rollback()
                await asyncio.to_thread(wait_until, lambda: _hooks(db_dsn, 0xC400) == 2, what="drained")
                await asyncio.to_thread(wait_until, lambda: _health(collector.url)[0] == 200, what="healthy")
        finally:
            await lock.close()

    asyncio.run(scenario())


async def test_a_drainer_task_that_ended_is_reported(db_pool: asyncpg.Pool, tmp_path: Path) -> None:
    drainer = SpoolDrainer(str(tmp_path / "spool"), SpanWriter(db_pool), interval_s=0.01)
    assert drainer.health()[0] == "unhealthy"  # not started
    task = drainer.start()
    for _ in range(3000):  # until its first pass is done
        if drainer.stats.state == "running":
            break
        await asyncio.sleep(0.01)
    assert drainer.health() == ("ok", [])
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    status, problems = drainer.health()
    assert status == "unhealthy" and "stopped" in problems[0]
