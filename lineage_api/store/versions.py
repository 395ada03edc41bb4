"""A pattern's family: its versions and those linked to them through version edges."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from traceability.lineage_api.store.rows import rows_as

# modified_from: a new version by the deriver; replaced_by: a promotion by the feedback loop
VERSION_EDGE_TYPES = ["modified_from", "replaced_by"]

FAMILY_SQL = """
WITH RECURSIVE family(id) AS (
    SELECT id FROM pattern_lineage_nodes WHERE pattern_id = $1
    UNION
    SELECT CASE WHEN e.source_node_id = f.id THEN e.target_node_id ELSE e.source_node_id END
    FROM family f
    JOIN pattern_lineage_edges e
      ON (e.source_node_id = f.id OR e.target_node_id = f.id) AND e.edge_type = ANY($2::text[])
)
SELECT n.id, n.pattern_id, n.pattern_name, n.pattern_version, n.status, n.created_at
FROM pattern_lineage_nodes n
WHERE n.id IN (SELECT id FROM family)
ORDER BY n.created_at, n.id
"""


@dataclass(frozen=True)
class Version:
    id: uuid.UUID
    pattern_id: str
    pattern_name: str
    pattern_version: str
    status: str
    created_at: datetime


async def family(conn: asyncpg.Connection, pattern_id: str) -> list[Version]:
    """Every version of ``pattern_id`` and of the patterns linked to it by version edges, in
    either direction, oldest first (empty when the pattern is unknown)."""
    return rows_as(Version, await conn.fetch(FAMILY_SQL, pattern_id, VERSION_EDGE_TYPES))
