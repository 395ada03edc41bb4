"""The rollups stay equal to the raw executions as rows arrive, change and go (triggers), also concurrently."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import numpy as np

from tests.support.analytics_data import (
    EXEC_COLUMNS,
    add_node,
    assert_same,
    copy_executions,
    generate,
    uniform_times,
)

AS_OF = datetime(2026, 3, 18, 14, 27, 31, tzinfo=UTC)


async def both(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    out = []
    for use_rollups in (True, False):
        resp = await client.post(
            "/analytics/compute",
            json={
                "pattern_id": "pat",
                "time_window_type": "monthly",
                "include_distribution": True,
                "as_of": AS_OF.isoformat(),
                "use_rollups": use_rollups,
            },
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        body.pop("computation_time_ms"), body.pop("processing_time_ms")
        out.append(body)
    return out[0], out[1]


async def rollup_total(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT coalesce(sum(executions), 0) FROM pattern_execution_rollups"))


async def test_rollups_follow_inserts_updates_deletes(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool
) -> None:
    rng = np.random.default_rng(1)
    async with db_pool.acquire() as conn:
        v1 = await add_node(conn, "pat", "1.0.0")
        v2 = await add_node(conn, "pat", "2.0.0")
        rows = generate(rng, v1, "pat", uniform_times(rng, AS_OF - timedelta(days=20), AS_OF, 600))
        await copy_executions(conn, rows[:300])  # bulk (COPY)
        for r in rows[300:320]:  # one statement per row (as a deriver would)
            await conn.execute(
                f"INSERT INTO pattern_executions ({', '.join(EXEC_COLUMNS)}) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
                r.id, r.node_id, r.pattern_id, r.tool_use_id, r.session_id, r.user_id, r.tool_name,
                r.file_path, r.executed_at, r.duration_ms, r.success, r.blocked, r.quality_score,
            )  # fmt: skip
        await copy_executions(conn, rows[320:])
        rolled, raw = await both(client)
        assert_same(rolled, raw)
        assert rolled["usage_metrics"]["total_executions"] > 0

        # a replayed batch with ON CONFLICT DO UPDATE, changing outcomes and moving rows between hours
        await conn.execute(
            """INSERT INTO pattern_executions (id, node_id, pattern_id, tool_use_id, executed_at, duration_ms,
                                               success, blocked, session_id)
               SELECT gen_random_uuid(), node_id, pattern_id, tool_use_id, executed_at - interval '90 minutes',
                      duration_ms * 2, NOT success, blocked, 'moved'
               FROM pattern_executions WHERE executed_at > $1
               ON CONFLICT (node_id, tool_use_id) DO UPDATE
                 SET executed_at = EXCLUDED.executed_at, duration_ms = EXCLUDED.duration_ms,
                     success = EXCLUDED.success, session_id = EXCLUDED.session_id""",
            AS_OF - timedelta(days=3),
        )
        rolled, raw = await both(client)
        assert_same(rolled, raw)
        # a plain UPDATE moving executions to another version, and a DELETE
        await conn.execute("UPDATE pattern_executions SET node_id = $1 WHERE user_id = 'u1'", v2)
        await conn.execute("DELETE FROM pattern_executions WHERE session_id = 's3'")
        rolled, raw = await both(client)
        assert_same(rolled, raw)
        assert set(rolled["distribution"]["by_version"]) == {"1.0.0", "2.0.0"}
        count = await conn.fetchval("SELECT count(*) FROM pattern_executions")
        assert await rollup_total(conn) == count
        # deleting a version cascades to its executions, and to the rollups
        await conn.execute("DELETE FROM pattern_lineage_nodes WHERE id = $1", v2)
        assert await rollup_total(conn) == await conn.fetchval("SELECT count(*) FROM pattern_executions")
        rolled, raw = await both(client)
        assert_same(rolled, raw)
        assert "2.0.0" not in rolled["distribution"]["by_version"]
        await conn.execute("TRUNCATE pattern_executions")
        assert await rollup_total(conn) == 0


async def test_concurrent_writers_to_the_same_hour(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    """Two transactions fill the same (version, hour) buckets at once; the rollups miss nothing."""
    rng = np.random.default_rng(2)
    async with db_pool.acquire() as conn:
        node = await add_node(conn, "pat")
    hour = AS_OF - timedelta(days=1, minutes=AS_OF.minute + 1)
    batches = [
        generate(rng, node, "pat", uniform_times(rng, hour, hour + timedelta(hours=2), 50)) for _ in range(6)
    ]
    barrier = asyncio.Barrier(len(batches))

    async def writer(batch: list) -> None:
        async with db_pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1")
            await barrier.wait()
            await copy_executions(conn, batch)
            await asyncio.sleep(0.05)  # hold the transaction open while the others write

    await asyncio.gather(*(writer(b) for b in batches))
    rolled, raw = await both(client)
    assert_same(rolled, raw)
    assert rolled["usage_metrics"]["total_executions"] == 300
