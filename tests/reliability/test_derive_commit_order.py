"""Pattern derivation has no gaps: a Write span committed late is derived on the next pass.

The deriver used to move a checkpoint over ``created_at`` (the inserting transaction's start)
once rows were 2 s old, so a transaction that took longer to commit (a large batch, a row lock)
landed behind it for ever. Each test drives the deriver passes explicitly and holds the slow
transaction open by hand; nothing waits on the clock.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import asyncpg

from tests.support.scripted_session import ScriptedSession
from traceability.exporter.storage import database
from traceability.exporter.storage.mapping import map_spans
from traceability.exporter.storage.writer import SpanWriter
from traceability.lineage_api.deriver.pipeline import PatternDeriver
from traceability.lineage_api.store import derivation
from traceability.lineage_api.store.catalog import DERIVER_CHECKPOINT


def code(name: str) -> str:
    return f"def {name}(items):\n    return [item * {len(name)} for item in items if item]\n"


async def derived_tool_uses(conn: asyncpg.Connection) -> set[str]:
    return {r[0] for r in await conn.fetch("SELECT tool_use_id FROM pattern_executions")}


async def write_small(db_dsn: str, name: str) -> str:
    """One Write span in a turn of its own, committed at once; returns its tool_use_id."""
    s = ScriptedSession()
    s.turn()
    tool_use_id = s.tool("Write", f"/repo/{name}.py", code(name))
    await s.flush(db_dsn)
    return tool_use_id


async def test_a_write_committed_after_the_deriver_passed_it_is_derived_on_the_next_pass(
    db_dsn: str, db_pool: asyncpg.Pool
) -> None:
    late = ScriptedSession()
    late.turn()
    late_id = late.tool("Write", "/repo/late.py", code("late"))
    writer_pool = await database.create_pool(db_dsn, min_size=1, max_size=1, json_codecs=False)
    try:
        async with writer_pool.acquire() as slow:
            held = slow.transaction()
            await held.start()  # the slow transaction starts first ...
            await SpanWriter._write_once(slow, map_spans(late.spans), [])  # ... inserts its span
            fast_id = await write_small(db_dsn, "fast")  # a later transaction commits meanwhile

            deriver = PatternDeriver()
            first = await deriver.run(db_pool)  # runs past the uncommitted span
            assert first.executions == 1
            async with db_pool.acquire() as conn:
                assert await derived_tool_uses(conn) == {fast_id}
            await held.commit()
        second = await deriver.run(db_pool)
        assert second.executions == 1
        async with db_pool.acquire() as conn:
            assert await derived_tool_uses(conn) == {fast_id, late_id}
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM pattern_lineage_nodes WHERE file_path = '/repo/late.py'"
                )
                == 1
            )
        assert (await deriver.run(db_pool)).executions == 0
    finally:
        await writer_pool.close()


async def _wait_until_blocked(conn: asyncpg.Connection, blocker_pid: int) -> None:
    """Until a backend waits on a lock the blocker holds (synchronisation, not a timing assertion)."""
    for _ in range(2000):
        if await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", blocker_pid
        ):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the span writer never waited on the row lock")


async def test_a_batch_behind_a_row_lock_is_derived_after_a_stream_that_passed_it(
    db_dsn: str, db_pool: asyncpg.Pool
) -> None:
    """The case this test was written for: spans stuck behind a row lock while a small stream keeps committing."""
    s = ScriptedSession()
    s.turn()
    await s.flush(db_dsn)  # the turn's root: the trace row the lock will be held on
    blocked_ids = [s.tool("Write", f"/repo/locked{i}.py", code(f"locked{i}")) for i in range(5)]
    async with db_pool.acquire() as conn:
        trace_uuid = await conn.fetchval("SELECT id FROM execution_traces")

    locker = await asyncpg.connect(database.asyncpg_dsn(db_dsn))
    writer_pool = await database.create_pool(db_dsn, min_size=1, max_size=2, json_codecs=False)
    try:
        lock = locker.transaction()
        await lock.start()
        await locker.execute("SELECT 1 FROM execution_traces WHERE id = $1 FOR UPDATE", trace_uuid)
        blocked = asyncio.create_task(SpanWriter(writer_pool).write(s.spans))
        async with db_pool.acquire() as conn:
            await _wait_until_blocked(conn, locker.get_server_pid())
        deriver = PatternDeriver(batch_size=2)
        stream_ids = []
        for i in range(4):  # the stream commits, and the deriver passes over it, as in the API
            stream_ids.append(await write_small(db_dsn, f"stream{i}"))
            await deriver.run(db_pool, max_batches=1)
        await deriver.run(db_pool)
        async with db_pool.acquire() as conn:
            assert await derived_tool_uses(conn) == set(stream_ids)

        await lock.rollback()  # the lock goes; the blocked batch commits
        written = await blocked
        assert (written.stored, written.rejected) == (5, [])
        result = await deriver.run(db_pool, max_batches=1)
        assert result.executions == 2  # the next pass (batches of 2) already reaches them
        await deriver.run(db_pool)
        async with db_pool.acquire() as conn:
            assert await derived_tool_uses(conn) == {*stream_ids, *blocked_ids}
    finally:
        await locker.close()
        await writer_pool.close()


def derive_cli(db_dsn: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "traceability.cli.main", "derive", "--db-url", db_dsn, "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_derive_command_finds_spans_left_behind_the_checkpoint(
    db_dsn: str, db_pool: asyncpg.Pool
) -> None:
    """Whatever the checkpoint says (one far ahead, as an old deriver left it), `derive` sweeps it all."""
    first = await write_small(db_dsn, "first")
    assert (await PatternDeriver().run(db_pool)).executions == 1
    async with db_pool.acquire() as conn:
        far = int(await conn.fetchval("SELECT pg_current_xact_id()")) + 1_000_000
        await derivation.set_checkpoint(conn, DERIVER_CHECKPOINT, derivation.Position(far))
    behind = [await write_small(db_dsn, f"behind{i}") for i in range(3)]
    assert (await PatternDeriver().run(db_pool)).executions == 0  # the API's deriver trusts its checkpoint
    assert await PatternDeriver().pending(db_pool, everything=True) == 3

    proc = await asyncio.to_thread(derive_cli, db_dsn)
    assert (proc.returncode, proc.stdout) == (0, "derived 3 tool uses: 3 pattern uses, 3 new versions\n")
    async with db_pool.acquire() as conn:
        assert await derived_tool_uses(conn) == {first, *behind}


async def test_spans_stored_before_the_migration_are_derived_after_it(db_dsn: str) -> None:
    """Rows from before 0012 (no transaction id, an old-format checkpoint past them) are not lost.

    The row is written by today's writer, then the schema goes back to 0011 (which drops the
    transaction-id column) and up again: the row then reads as one stored before 0012.
    """
    old = await write_small(db_dsn, "old")
    await asyncio.to_thread(database.downgrade, db_dsn, "0011")
    conn = await asyncpg.connect(database.asyncpg_dsn(db_dsn))
    try:
        await conn.execute(
            "INSERT INTO traceability_checkpoints (name, position) VALUES ($1, $2::jsonb)",
            DERIVER_CHECKPOINT,
            '{"created_at": "2999-01-01T00:00:00+00:00", "started_at": "2999-01-01T00:00:00+00:00",'
            ' "id": "00000000-0000-0000-0000-000000000000"}',
        )
    finally:
        await conn.close()
    await asyncio.to_thread(database.upgrade, db_dsn)
    new = await write_small(db_dsn, "new")
    pool = await database.create_pool(db_dsn, min_size=1, max_size=2)
    try:
        assert (await PatternDeriver().run(pool)).executions == 2
        async with pool.acquire() as conn:
            assert await derived_tool_uses(conn) == {old, new}
    finally:
        await pool.close()
