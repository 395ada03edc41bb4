"""SQL the pattern deriver uses: pending tool spans, checkpoint, locations, signatures, executions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

CODE_TOOLS = ["Write", "Edit", "MultiEdit", "NotebookEdit"]
DERIVER_LOCK_KEY = 0x7A7474_0004  # pg advisory lock: one deriver at a time per database

# Both read the same rows: code-writing tool spans after the checkpoint, settled for $5 seconds; rows stamped in
# one transaction share created_at, so the span start orders them.
_COUNT_PENDING_SQL = """
SELECT count(*) FROM hook_executions h
WHERE h.span_type = 'tool' AND h.tool_name = ANY($1::text[])
      AND (h.created_at, h.started_at, h.id) > ($2::timestamptz, $3::timestamptz, $4::uuid)
      AND h.created_at <= NOW() - make_interval(secs => $5)
"""
_FETCH_PENDING_SQL = """
SELECT h.id, h.trace_id, h.created_at, h.started_at, h.completed_at, h.duration_ms, h.tool_duration_ms,
       h.tool_name, h.tool_use_id, h.file_path, h.status, h.success, h.quality_score, h.session_id,
       h.attributes, t.user_id
FROM hook_executions h LEFT JOIN execution_traces t ON t.id = h.trace_id
WHERE h.span_type = 'tool' AND h.tool_name = ANY($1::text[])
      AND (h.created_at, h.started_at, h.id) > ($2::timestamptz, $3::timestamptz, $4::uuid)
      AND h.created_at <= NOW() - make_interval(secs => $5)
ORDER BY h.created_at, h.started_at, h.id LIMIT $6
"""


async def try_lock(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", DERIVER_LOCK_KEY))


async def unlock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", DERIVER_LOCK_KEY)


Position = tuple[datetime, datetime, uuid.UUID]  # (created_at, started_at, id) of the last row done
_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


async def get_checkpoint(conn: asyncpg.Connection, name: str) -> Position:
    position = await conn.fetchval("SELECT position FROM traceability_checkpoints WHERE name = $1", name)
    if not position:
        return _EPOCH, _EPOCH, uuid.UUID(int=0)
    return (
        datetime.fromisoformat(position["created_at"]),
        datetime.fromisoformat(position["started_at"]),
        uuid.UUID(position["id"]),
    )


async def set_checkpoint(conn: asyncpg.Connection, name: str, last: asyncpg.Record) -> None:
    await conn.execute(
        """
        INSERT INTO traceability_checkpoints (name, position, updated_at) VALUES ($1, $2, NOW())
        ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = NOW()
        """,
        name,
        {
            "created_at": last["created_at"].isoformat(),
            "started_at": last["started_at"].isoformat(),
            "id": str(last["id"]),
        },
    )


async def count_pending(conn: asyncpg.Connection, after: Position, settle_s: float) -> int:
    return int(
        await conn.fetchval(
            _COUNT_PENDING_SQL,
            CODE_TOOLS,
            *after,
            settle_s,
        )
    )


async def fetch_pending(
    conn: asyncpg.Connection, after: Position, settle_s: float, limit: int
) -> list[asyncpg.Record]:
    """Code-writing tool spans after the checkpoint, in ingest order, with the trace's user."""
    return await conn.fetch(
        _FETCH_PENDING_SQL,
        CODE_TOOLS,
        *after,
        settle_s,
        limit,
    )


async def mark_derived(conn: asyncpg.Connection, hook_execution_id: uuid.UUID, units: int) -> bool:
    """Claim a tool span for derivation; False when it was derived before (idempotence)."""
    result = await conn.fetchval(
        """
        INSERT INTO pattern_derived_executions (hook_execution_id, units) VALUES ($1, $2)
        ON CONFLICT (hook_execution_id) DO NOTHING RETURNING TRUE
        """,
        hook_execution_id,
        units,
    )
    return bool(result)


async def mark_failed(conn: asyncpg.Connection, hook_execution_id: uuid.UUID, error: str) -> None:
    """Record a tool span the deriver could not handle, so it is skipped instead of retried forever."""
    await conn.execute(
        """
        INSERT INTO pattern_derived_executions (hook_execution_id, units, error) VALUES ($1, 0, $2)
        ON CONFLICT (hook_execution_id) DO NOTHING
        """,
        hook_execution_id,
        error[:2000],
    )


async def location(conn: asyncpg.Connection, file_path: str, qualified_name: str) -> asyncpg.Record | None:
    """The slot's current pattern and whether the slot is the pattern's home (where its versions live)."""
    return await conn.fetchrow(
        """
        SELECT l.pattern_id, l.node_id, l.code_hash, n.pattern_version, n.pattern_data->>'normalized' AS normalized,
               EXISTS (SELECT 1 FROM pattern_lineage_nodes h
                       WHERE h.pattern_id = l.pattern_id AND h.file_path = l.file_path
                         AND h.qualified_name = l.qualified_name) AS is_home
        FROM pattern_locations l JOIN pattern_lineage_nodes n ON n.id = l.node_id
        WHERE l.file_path = $1 AND l.qualified_name = $2
        """,
        file_path,
        qualified_name,
    )


async def set_location(
    conn: asyncpg.Connection,
    *,
    file_path: str,
    qualified_name: str,
    pattern_id: str,
    node_id: uuid.UUID,
    code_hash: str,
    language: str,
    tool_use_id: str | None,
) -> None:
    await conn.execute(
        """
        INSERT INTO pattern_locations (file_path, qualified_name, pattern_id, node_id, code_hash, language,
                                       tool_use_id, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, NOW())
        ON CONFLICT (file_path, qualified_name) DO UPDATE SET pattern_id = EXCLUDED.pattern_id,
            node_id = EXCLUDED.node_id, code_hash = EXCLUDED.code_hash, language = EXCLUDED.language,
            tool_use_id = EXCLUDED.tool_use_id, updated_at = NOW()
        """,
        file_path,
        qualified_name,
        pattern_id,
        node_id,
        code_hash,
        language,
        tool_use_id,
    )


async def node_by_hash(
    conn: asyncpg.Connection, code_hash: str, pattern_id: str | None = None
) -> asyncpg.Record | None:
    """The oldest version with this normalized code (restricted to one pattern when given)."""
    return await conn.fetchrow(
        """
        SELECT id, pattern_id, pattern_version FROM pattern_lineage_nodes
        WHERE code_hash = $1 AND ($2::text IS NULL OR pattern_id = $2)
        ORDER BY created_at, id LIMIT 1
        """,
        code_hash,
        pattern_id,
    )


async def versions(conn: asyncpg.Connection, pattern_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT pattern_version FROM pattern_lineage_nodes WHERE pattern_id = $1", pattern_id
    )
    return [r[0] for r in rows]


async def node_codes(conn: asyncpg.Connection, node_ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT id, pattern_id, pattern_version, file_path, pattern_data->>'normalized' AS normalized
        FROM pattern_lineage_nodes WHERE id = ANY($1::uuid[])
        """,
        node_ids,
    )


async def save_signature(
    conn: asyncpg.Connection, node_id: uuid.UUID, file_path: str | None, data: bytes
) -> None:
    await conn.execute(
        "INSERT INTO pattern_signatures (node_id, file_path, minhash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        node_id,
        file_path,
        data,
    )


async def signatures_since(conn: asyncpg.Connection, since: datetime | None) -> list[asyncpg.Record]:
    """Signatures created after ``since`` (all when None), oldest first."""
    return await conn.fetch(
        """
        SELECT node_id, file_path, minhash, created_at FROM pattern_signatures
        WHERE $1::timestamptz IS NULL OR created_at >= $1 ORDER BY created_at
        """,
        since,
    )


async def insert_execution(conn: asyncpg.Connection, row: dict[str, Any]) -> None:
    await conn.execute(
        """
        INSERT INTO pattern_executions (id, node_id, pattern_id, tool_use_id, trace_id, hook_execution_id,
            session_id, user_id, tool_name, file_path, executed_at, duration_ms, success, blocked, quality_score)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        ON CONFLICT DO NOTHING
        """,
        row["id"],
        row["node_id"],
        row["pattern_id"],
        row["tool_use_id"],
        row["trace_id"],
        row["hook_execution_id"],
        row["session_id"],
        row["user_id"],
        row["tool_name"],
        row["file_path"],
        row["executed_at"],
        row["duration_ms"],
        row["success"],
        row["blocked"],
        row["quality_score"],
    )
