"""Pattern names -> pattern ids: the SQL behind accepting a name where a pattern id is expected."""

from __future__ import annotations

import asyncpg

# One row per pattern whose (some version's) name is exactly $1, its newest version first chosen.
_NAMED_SQL = """
SELECT DISTINCT ON (pattern_id) pattern_id, pattern_name, pattern_version, file_path, qualified_name
FROM pattern_lineage_nodes
WHERE pattern_name = $1
ORDER BY pattern_id, created_at DESC, id DESC
LIMIT $2
"""


async def pattern_exists(conn: asyncpg.Connection, pattern_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pattern_lineage_nodes WHERE pattern_id = $1)", pattern_id
        )
    )


async def patterns_named(conn: asyncpg.Connection, name: str, limit: int) -> list[asyncpg.Record]:
    """Up to ``limit`` patterns named exactly ``name`` (ordered by id), each with its newest version."""
    return list(await conn.fetch(_NAMED_SQL, name, limit))
