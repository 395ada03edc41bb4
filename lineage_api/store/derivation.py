"""SQL the pattern deriver uses: pending tool spans, its position, locations, signatures, executions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from traceability.instrumentation.semconv import CODE_TOOLS

DERIVER_LOCK_KEY = 0x7A7474_0004  # pg advisory lock: one deriver at a time per database


@dataclass(frozen=True)
class Position:
    """The deriver's position in commit order, a watermark over ``(ingest_xid, created_at, started_at, id)``.

    Invariant: every code-writing tool span that sorts before it is derived (claimed in
    ``pattern_derived_executions``, with its error when it could not be). ``ingest_xid`` is the id
    of the transaction that inserted the row (migration 0012), so a transaction still running has
    an id at or above the oldest running one, ``pg_snapshot_xmin(pg_current_snapshot())``; the
    watermark never passes that horizon, so rows a long transaction commits later (a 13 s batch,
    a row lock) sort after it and are found. Rows after the watermark that are derived already
    (committed out of order) are skipped through the claims. No settle delay, no guess.

    Chosen over a queue table filled by the writer (a second insert per span on the ingest path,
    and a job for the writer that is the deriver's business) and over claims alone (every pass
    would scan every tool span ever stored). The cost of a long transaction is a wider window to
    rescan until it ends, never a lost row. ``created_at`` etc. None: the start of ``xid``.
    """

    xid: int
    created_at: datetime | None = None
    started_at: datetime | None = None
    id: uuid.UUID | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "xid": self.xid,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "id": str(self.id) if self.id else None,
        }

    @classmethod
    def from_json(cls, position: dict[str, Any]) -> Position:
        created, started, row_id = position.get("created_at"), position.get("started_at"), position.get("id")
        return cls(
            int(position["xid"]),
            datetime.fromisoformat(created) if created else None,
            datetime.fromisoformat(started) if started else None,
            uuid.UUID(row_id) if row_id else None,
        )

    @property
    def args(self) -> tuple[int, datetime | None, datetime | None, uuid.UUID | None]:
        return self.xid, self.created_at, self.started_at, self.id


START = Position(0)  # before every row: a sweep of everything still underived

# Code-writing tool spans at or after a position ($1-$4) that are not claimed yet. The tool list is the
# predicate of the partial index idx_hook_executions_derive (migration 0012), as literals so the
# planner can match it (a parameter cannot): CODE_TOOLS, in the order the migration spells them.
_CODE_TOOLS_SQL = ", ".join(f"'{tool}'" for tool in CODE_TOOLS)
_PENDING = f"""
h.span_type = 'tool' AND h.tool_name IN ({_CODE_TOOLS_SQL})
AND (h.ingest_xid, h.created_at, h.started_at, h.id) >= ($1::xid8, COALESCE($2::timestamptz, '-infinity'),
     COALESCE($3::timestamptz, '-infinity'), COALESCE($4::uuid, '00000000-0000-0000-0000-000000000000'))
AND NOT EXISTS (SELECT 1 FROM pattern_derived_executions d WHERE d.hook_execution_id = h.id)
"""  # noqa: S608 - constants
_ORDER = "ORDER BY h.ingest_xid, h.created_at, h.started_at, h.id"
_COUNT_PENDING_SQL = f"SELECT count(*) FROM hook_executions h WHERE {_PENDING}"  # noqa: S608 - constants
_FETCH_PENDING_SQL = f"""
SELECT h.id, h.trace_id, h.created_at, h.started_at, h.completed_at, h.duration_ms, h.tool_duration_ms,
       h.tool_name, h.tool_use_id, h.file_path, h.status, h.success, h.quality_score, h.session_id,
       h.attributes, t.user_id
FROM hook_executions h LEFT JOIN execution_traces t ON t.id = h.trace_id
WHERE {_PENDING} {_ORDER} LIMIT $5
"""  # noqa: S608
# One statement, so the horizon and the first unclaimed row come from the same snapshot: a row not
# visible in it belongs to a transaction at or above the horizon.
_NEXT_POSITION_SQL = f"""
SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon,
       f.ingest_xid, f.created_at, f.started_at, f.id
FROM (SELECT 1) one LEFT JOIN LATERAL (
    SELECT h.ingest_xid, h.created_at, h.started_at, h.id FROM hook_executions h
    WHERE {_PENDING} {_ORDER} LIMIT 1
) f ON TRUE
"""  # noqa: S608


async def try_lock(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", DERIVER_LOCK_KEY))


async def unlock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", DERIVER_LOCK_KEY)


async def get_checkpoint(conn: asyncpg.Connection, name: str) -> Position:
    position = await conn.fetchval("SELECT position FROM traceability_checkpoints WHERE name = $1", name)
    return Position.from_json(position) if position else START


async def set_checkpoint(conn: asyncpg.Connection, name: str, position: Position) -> None:
    await conn.execute(
        """
        INSERT INTO traceability_checkpoints (name, position, updated_at) VALUES ($1, $2, NOW())
        ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = NOW()
        """,
        name,
        position.to_json(),
    )


async def count_pending(conn: asyncpg.Connection, start: Position) -> int:
    return int(await conn.fetchval(_COUNT_PENDING_SQL, *start.args))


async def fetch_pending(conn: asyncpg.Connection, start: Position, limit: int) -> list[asyncpg.Record]:
    """Unclaimed code-writing tool spans at or after ``start``, in commit order, with the trace's user."""
    rows: list[asyncpg.Record] = await conn.fetch(_FETCH_PENDING_SQL, *start.args, limit)
    return rows


async def next_position(conn: asyncpg.Connection, start: Position) -> Position:
    """The furthest position that keeps the invariant: the first unclaimed row at or after ``start``,
    but never past the start of the oldest transaction still running."""
    row = await conn.fetchrow(_NEXT_POSITION_SQL, *start.args)
    assert row is not None
    horizon = int(row["horizon"])
    if row["ingest_xid"] is not None and int(row["ingest_xid"]) < horizon:
        return Position(int(row["ingest_xid"]), row["created_at"], row["started_at"], row["id"])
    return Position(horizon)


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
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT id, pattern_id, pattern_version, file_path, pattern_data->>'normalized' AS normalized
        FROM pattern_lineage_nodes WHERE id = ANY($1::uuid[])
        """,
        node_ids,
    )
    return rows


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
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT node_id, file_path, minhash, created_at FROM pattern_signatures
        WHERE $1::timestamptz IS NULL OR created_at >= $1 ORDER BY created_at
        """,
        since,
    )
    return rows


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
