"""Read-only catalog queries: counts and the pattern list (one trace: ``traces.merged_turn``)."""

from __future__ import annotations

from typing import Any

import asyncpg

DERIVER_CHECKPOINT = "pattern_deriver"


async def stats(conn: asyncpg.Connection) -> dict[str, Any]:
    row = await conn.fetchrow(
        """
        SELECT (SELECT count(DISTINCT pattern_id) FROM pattern_lineage_nodes) AS total_patterns,
               (SELECT count(*) FROM pattern_lineage_nodes) AS total_nodes,
               (SELECT count(*) FROM pattern_lineage_edges) AS total_edges,
               (SELECT count(*) FROM pattern_lineage_events) AS total_events,
               (SELECT count(*) FROM execution_traces) AS total_traces,
               (SELECT count(*) FROM hook_executions) AS total_hook_executions,
               (SELECT count(*) FROM pattern_executions) AS total_pattern_executions,
               (SELECT position FROM traceability_checkpoints WHERE name = $1) AS deriver_checkpoint
        """,
        DERIVER_CHECKPOINT,
    )
    assert row is not None
    groups = {}
    for key, sql in (
        ("nodes_by_status", "SELECT status, count(*) FROM pattern_lineage_nodes GROUP BY 1"),
        ("edges_by_type", "SELECT edge_type, count(*) FROM pattern_lineage_edges GROUP BY 1"),
        ("events_by_type", "SELECT event_type, count(*) FROM pattern_lineage_events GROUP BY 1"),
    ):
        groups[key] = {r[0]: r[1] for r in await conn.fetch(sql)}
    return {**dict(row), **groups}


_PATTERNS_SQL = r"""
        WITH matched AS (
            SELECT DISTINCT n.pattern_id FROM pattern_lineage_nodes n
            WHERE ($1::text IS NULL OR n.file_path = $1
                   OR EXISTS (SELECT 1 FROM pattern_locations l WHERE l.pattern_id = n.pattern_id AND l.file_path = $1))
              AND ($2::text IS NULL OR lower(n.language) = lower($2))
              AND ($3::text IS NULL OR n.pattern_name ILIKE '%' || $3 || '%'
                   OR n.qualified_name ILIKE '%' || $3 || '%' OR n.pattern_id = $6)
              AND ($4::text IS NULL OR n.pattern_type = $4)
              AND ($5::text IS NULL OR n.status = $5)
        )
        SELECT l.*, v.total_versions, v.first_seen_at,
               (SELECT count(*) FROM pattern_executions x WHERE x.pattern_id = m.pattern_id) AS total_executions,
               count(*) OVER () AS total
        FROM matched m
        CROSS JOIN LATERAL (
            SELECT id, pattern_id, pattern_name, pattern_type, pattern_version, generation, lineage_id,
                   qualified_name, file_path, language, status, created_at
            FROM pattern_lineage_nodes WHERE pattern_id = m.pattern_id
            ORDER BY created_at DESC, generation DESC, id DESC LIMIT 1
        ) l
        CROSS JOIN LATERAL (
            SELECT count(*) AS total_versions, min(created_at) AS first_seen_at
            FROM pattern_lineage_nodes WHERE pattern_id = m.pattern_id
        ) v
        ORDER BY l.created_at DESC, l.pattern_id
        LIMIT $7 OFFSET $8
        """


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_patterns(
    conn: asyncpg.Connection,
    *,
    file_path: str | None,
    language: str | None,
    name: str | None,
    pattern_type: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[asyncpg.Record], int]:
    """Patterns (their newest version) having a version or a current location matching the filters.

    ``file_path`` matches exactly; ``name`` is a case-insensitive substring of the name or the
    qualified name, or the exact pattern id; ``language`` is case-insensitive.
    """
    args = (
        file_path,
        language,
        _like_escape(name) if name else None,
        pattern_type,
        status,
        name,
    )
    rows = await conn.fetch(_PATTERNS_SQL, *args, limit, offset)
    if rows or offset == 0:
        return rows, int(rows[0]["total"]) if rows else 0
    first = await conn.fetch(_PATTERNS_SQL, *args, 1, 0)  # paged past the end: still report the total
    return [], int(first[0]["total"]) if first else 0
