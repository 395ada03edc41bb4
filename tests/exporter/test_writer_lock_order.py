"""A span batch takes its session's lock last, and keeps its session's row from the new turns alone.

Writing trace rows refreshes their session, under a transaction-scoped lock per session. The
writer COPYs a batch's hook rows before it writes the trace rows (the hook rows' key to them is
checked at commit), so a batch that waits for its session's lock has its hook rows written already,
and the key is still enforced. Inserted turns update ``trace_sessions`` from the new rows; every
case must equal a refresh from all the session's rows. Tests hold locks by hand; nothing waits on
the clock.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from tests.support.db import afetch
from tests.support.scripted_session import ScriptedSession
from traceability.exporter.codec.records import SpanRecord
from traceability.exporter.storage import database
from traceability.exporter.storage.writer import SpanWriter
from traceability.instrumentation import semconv as sc

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


SESSION_COLUMNS = (
    "session_id, first_started, last_started, last_completed, turns, failed_turns, project, cwd, model"
)


async def _sessions_match_a_full_refresh(pool: asyncpg.Pool) -> list[dict[str, object]]:
    """trace_sessions as the triggers left it, checked against a refresh of every session from its rows."""
    async with pool.acquire() as conn:
        kept = [dict(r) for r in await conn.fetch(f"SELECT {SESSION_COLUMNS} FROM trace_sessions ORDER BY 1")]
        tr = conn.transaction()
        await tr.start()
        await conn.execute(
            "SELECT traceability_refresh_sessions(ARRAY(SELECT session_id FROM trace_sessions))"
        )
        fresh = [
            dict(r) for r in await conn.fetch(f"SELECT {SESSION_COLUMNS} FROM trace_sessions ORDER BY 1")
        ]
        await tr.rollback()
    assert kept == fresh
    return kept


async def test_sessions_kept_from_new_rows_equal_a_refresh_from_all_rows(db_dsn: str) -> None:
    """Inserted turns update their session from the new rows alone; every case equals a full refresh."""
    pool = await database.create_pool(db_dsn, min_size=1, max_size=2, json_codecs=False)
    writer = SpanWriter(pool)
    late = ScriptedSession()
    early = ScriptedSession(session_id=late.session_id, clock_ns=late.clock_ns - 10**12)

    def context(cwd: str, model: str | None = None) -> dict[str, str]:
        ctx = {"cwd": cwd, **({"model": model} if model else {})}
        return {sc.CONTEXT: json.dumps(ctx)}

    try:
        steps: list[list[SpanRecord]] = []
        late.turn(**context("/work/alpha", "opus"))
        late.tool("Write", "/work/alpha/a.py", "a = 1\n")
        steps.append(late.spans[:])  # a new session
        late.spans.clear()
        late.turn(**{sc.TRACE_STATUS: sc.TRACE_STATUS_FAILED})  # a failed turn, no context
        steps.append(late.spans[:])
        late.spans.clear()
        late.turn(**context("/work/beta"))  # a newer cwd, the model kept
        late.tool("Edit", "/work/beta/b.py", "b = 2\n")
        steps.append(late.spans[1:])  # its tool span first (the placeholder), then its root (an update)
        steps.append(late.spans[:1])
        late.spans.clear()
        early.turn(**context("/work/old", "sonnet"))  # older than the session's last turn: refreshed
        steps.append(early.spans[:])
        early.spans.clear()
        early.turn(**context("/work/older"))
        steps.append(early.spans[:])
        early.spans.clear()
        early.turn(**{sc.CONTEXT: json.dumps({"model": "older"})})
        steps.append(early.spans[:])
        other = ScriptedSession()
        other.turn(**context("/srv/gamma", "haiku"))
        late.turn()
        steps.append([*other.spans, *late.spans])  # two sessions in one batch
        seen = []
        for spans in steps:
            result = await writer.write(spans)
            assert result.rejected == []
            seen.append(await _sessions_match_a_full_refresh(pool))
        async with pool.acquire() as conn:  # a native-only turn, then a turn row recording its trace
            native = uuid.uuid4()
            await conn.execute(
                "INSERT INTO claude_code_spans (id, trace_id, span_id, name, span_type, started_at, completed_at,"
                " duration_ms, session_id) VALUES ($1, $2, 's', 'claude_code.interaction', 'interaction',"
                " now(), now(), 1, $3)",
                uuid.uuid4(), native, other.session_id,
            )  # fmt: skip
            await _sessions_match_a_full_refresh(pool)
            await conn.execute(
                "INSERT INTO execution_traces (id, correlation_id, root_id, session_id, source, span_name,"
                " native_trace_id) VALUES ($1, $1, $1, $2, 'test', 'claude_code.turn', $3)",
                uuid.uuid4(), uuid.UUID(other.session_id), native,
            )  # fmt: skip
        await _sessions_match_a_full_refresh(pool)
        sessions = {r["session_id"]: r for r in seen[-1]}
        ours = sessions[uuid.UUID(late.session_id)]
        assert (ours["turns"], ours["failed_turns"], ours["project"], ours["cwd"], ours["model"]) == (
            7, 1, "beta", "/work/beta", "opus"
        )  # fmt: skip
        assert sessions[uuid.UUID(other.session_id)]["project"] == "gamma"
    finally:
        await pool.close()
