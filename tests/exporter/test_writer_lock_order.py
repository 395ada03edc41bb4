"""A span batch takes its session's lock last: batches of one session COPY their hook rows side by side.

Writing trace rows refreshes their session, under a transaction-scoped lock per session. The
writer COPYs a batch's hook rows before it writes the trace rows (the hook rows' key to them is
checked at commit), so a batch that waits for its session's lock has its hook rows written already,
and the key is still enforced. Each test holds the lock by hand; nothing waits on the clock.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from tests.support.db import afetch
from tests.support.scripted_session import ScriptedSession
from traceability.exporter.storage import database
from traceability.exporter.storage.writer import SpanWriter

SESSION_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('trace_sessions:' || $1::text, 0))"


async def _blocked_by(dsn: str, blocker_pid: int) -> int:
    """The pid of the backend waiting on a lock the blocker holds (polled: synchronisation only)."""
    for _ in range(2000):
        rows = await afetch(
            dsn, "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", blocker_pid
        )
        if rows:
            return int(rows[0]["pid"])
        await asyncio.sleep(0.01)
    raise AssertionError("the span writer never waited on the session lock")


async def test_a_batch_waiting_for_its_session_lock_has_copied_its_hook_rows(db_dsn: str) -> None:
    s = ScriptedSession()
    s.turn()
    for i in range(3):
        s.tool("Write", f"/repo/f{i}.py", f"x = {i}\n")
    locker = await asyncpg.connect(database.asyncpg_dsn(db_dsn))
    pool = await database.create_pool(db_dsn, min_size=1, max_size=1, json_codecs=False)
    try:
        held = locker.transaction()
        await held.start()
        await locker.execute(SESSION_LOCK, s.session_id)
        write = asyncio.create_task(SpanWriter(pool).write(s.spans))
        writer_pid = await _blocked_by(db_dsn, locker.get_server_pid())
        locks = await afetch(
            db_dsn,
            "SELECT relation::regclass::text AS rel FROM pg_locks WHERE pid = $1 AND granted AND relation IS NOT NULL",
            writer_pid,
        )
        assert "hook_executions" in {r["rel"] for r in locks}  # the COPY ran before the wait
        await held.rollback()
        result = await write
        assert (result.stored, result.rejected) == (4, [])
        rows = await afetch(
            db_dsn,
            "SELECT (SELECT count(*) FROM hook_executions) AS hooks, (SELECT turns FROM trace_sessions) AS turns",
        )
        assert rows == [{"hooks": 3, "turns": 1}]
    finally:
        await locker.close()
        await pool.close()


async def test_the_trace_key_is_still_checked_at_commit(db_dsn: str) -> None:
    """A hook row naming no trace is refused (the deferred key), in any transaction."""
    conn = await asyncpg.connect(database.asyncpg_dsn(db_dsn))
    try:
        orphan = (
            "INSERT INTO hook_executions (trace_id, hook_type, hook_name, execution_order, span_id, span_name) "
            "VALUES ($1, 'hook', 'h', 0, 's', 'n')"
        )
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(orphan, uuid.uuid4())
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            async with conn.transaction():
                await conn.execute("SET CONSTRAINTS hook_executions_trace_id_fkey DEFERRED")
                await conn.execute(orphan, uuid.uuid4())
    finally:
        await conn.close()
