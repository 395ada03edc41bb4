"""Two span batches that cross two sessions (one's native interaction is the other's hook turn's
session) wait on each other's session locks without deadlocking."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.support.native import hook_turn_span, interaction_span
from traceability.exporter.storage.database import create_pool
from traceability.exporter.storage.writer import RetryPolicy, SpanWriter

SESSION_X = "00000000-0000-4000-8000-00000000000a"
SESSION_Y = "00000000-0000-4000-8000-00000000000b"
T0 = 1_767_225_600_000_000_000
LOCK_X = "SELECT pg_advisory_lock(hashtextextended('trace_sessions:' || $1::uuid::text, 0))"
WAITING = """SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'"""


async def _waiting(conn: asyncpg.Connection, n: int) -> None:
    """Until ``n`` backends of this database wait for an advisory lock."""
    for _ in range(3000):
        if await conn.fetchval(WAITING) >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{n} writers never waited for a session lock")


async def test_batches_crossing_two_sessions_do_not_deadlock(db_dsn: str, db_pool: asyncpg.Pool) -> None:
    """The second batch starts while the first waits for session X (held here); once X is free, each
    batch needs the session the other touches too. Taking a session's lock statement by statement,
    the second batch holds Y while it waits for X, the first holds X and waits for Y: a deadlock
    (here not retried, so it would raise)."""
    first = [interaction_span(SESSION_X, "a" * 32, T0), hook_turn_span(SESSION_Y, "b" * 32, T0)]
    second = [interaction_span(SESSION_Y, "c" * 32, T0), hook_turn_span(SESSION_X, "d" * 32, T0)]
    pool = await create_pool(db_dsn, min_size=2, max_size=2, json_codecs=False)
    writer = SpanWriter(pool, RetryPolicy(deadline_s=0))
    try:
        async with db_pool.acquire() as holder:
            await holder.execute(LOCK_X, SESSION_X)
            one = asyncio.create_task(writer.write(first))
            await _waiting(holder, 1)
            two = asyncio.create_task(writer.write(second))
            await _waiting(holder, 2)
            await holder.execute("SELECT pg_advisory_unlock_all()")
            results = await asyncio.wait_for(asyncio.gather(one, two), 60)
    finally:
        await pool.close()
    assert [r.stored for r in results] == [2, 2]
    rows = await db_pool.fetch("SELECT session_id::text, turns FROM trace_sessions ORDER BY session_id")
    assert [tuple(r) for r in rows] == [(SESSION_X, 2), (SESSION_Y, 2)]
