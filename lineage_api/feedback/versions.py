"""A pattern's versions (its lineage family) and the two under test.

The family is every node of the pattern id, plus the nodes linked to them through version edges
(``modified_from`` by the deriver, ``replaced_by`` by the feedback loop), in either direction.
The *control* is the promoted version (the latest promoted, if several), else the oldest active
one; the *treatment* is the newest other active version. Deprecated versions take no part.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

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


@dataclass(frozen=True)
class Arms:
    family: list[Version]
    control: Version | None
    treatment: Version | None

    @property
    def under_test(self) -> bool:
        return self.control is not None and self.treatment is not None

    @property
    def experiment_id(self) -> str | None:
        if self.control is None or self.treatment is None:
            return None
        return f"{self.control.id}:{self.treatment.id}"


async def family(conn: asyncpg.Connection, pattern_id: str) -> list[Version]:
    """Every version of ``pattern_id``, oldest first (empty when the pattern is unknown)."""
    rows = await conn.fetch(FAMILY_SQL, pattern_id, VERSION_EDGE_TYPES)
    return [
        Version(
            id=r["id"],
            pattern_id=r["pattern_id"],
            pattern_name=r["pattern_name"],
            pattern_version=r["pattern_version"],
            status=r["status"],
            created_at=r["created_at"],
        )
        for r in rows
    ]


def choose_arms(versions: list[Version]) -> Arms:
    active = [v for v in versions if v.status != "deprecated"]
    if not active:
        return Arms(versions, None, None)
    promoted = [v for v in active if v.status == "promoted"]
    control = promoted[-1] if promoted else active[0]
    challengers = [v for v in active if v.id != control.id]
    return Arms(versions, control, challengers[-1] if challengers else None)


async def arms(conn: asyncpg.Connection, pattern_id: str) -> Arms:
    return choose_arms(await family(conn, pattern_id))
