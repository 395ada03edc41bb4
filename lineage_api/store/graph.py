"""Recursive graph queries over pattern_lineage_*: ancestry, descendants, evolution, the ancestry cache.

Edges point from parent (source) to child (target). Ancestry walks edges backwards
(``target_node_id = current``), descendants forwards, breadth first with a set of nodes seen (each
node expanded once, so the cost is linear in the edges visited, cycles or not), and both stop at
``max_depth`` hops. Both return :class:`Relative` rows.

``pattern_ancestry_cache`` holds each node's ancestry up to :data:`CACHED_ANCESTRY_DEPTH` hops. It
is written where the lineage changes, never by a read: a new node's ancestry is cached when it is
inserted; an edge into an existing node marks the cache of that node and of every node below it
stale, and refreshes that node's. A read answers from a fresh entry deep enough, else walks the
graph and keeps the result to itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from traceability.lineage_api.store.rows import rows_as

CACHED_ANCESTRY_DEPTH = 10  # the depth GET lineage asks for by default


@dataclass(frozen=True)
class Relative:
    """A node reached by a walk: an ancestor or a descendant of the start node."""

    node_id: uuid.UUID
    pattern_id: str
    pattern_name: str
    pattern_version: str
    depth: int  # hops from the start node: 1 = parent (ancestry) or child (descendants)
    generation: int  # the node's own generation in its lineage
    edge_type: str
    transformation_type: str | None
    via_node_id: uuid.UUID  # the neighbour on the path: the child (ancestry) or the parent (descendants)
    created_at: datetime

    def cache_entry(self) -> dict[str, Any]:
        """The JSON kept in ``pattern_ancestry_cache.lineage_path`` (the key names the table has always had)."""
        return {
            "ancestor_id": str(self.node_id),
            "ancestor_pattern_id": self.pattern_id,
            "ancestor_pattern_name": self.pattern_name,
            "ancestor_version": self.pattern_version,
            "generation": self.depth,
            "node_generation": self.generation,
            "edge_type": self.edge_type,
            "transformation_type": self.transformation_type,
            "child_node_id": str(self.via_node_id),
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_cache_entry(cls, entry: dict[str, Any]) -> Relative:
        return cls(
            node_id=uuid.UUID(entry["ancestor_id"]),
            pattern_id=entry["ancestor_pattern_id"],
            pattern_name=entry["ancestor_pattern_name"],
            pattern_version=entry["ancestor_version"],
            depth=int(entry["generation"]),
            generation=int(entry["node_generation"]),
            edge_type=entry["edge_type"],
            transformation_type=entry["transformation_type"],
            via_node_id=uuid.UUID(entry["child_node_id"]),
            created_at=datetime.fromisoformat(entry["created_at"]),
        )


def _walk_sql(frontier_col: str, next_col: str) -> str:
    """Breadth-first walk from ``$1`` over edges whose ``frontier_col`` is on the frontier, at most ``$2`` hops.

    The recursion carries one row per level: the level's nodes (with the edge that first reached
    each: lowest edge_type, then lowest neighbour id) and every node seen so far. A node seen is
    never expanded again, so each node is expanded once and each edge into the frontier read once,
    whatever the cycles: the cost is linear in the edges visited. Carrying the path per row instead
    (UNION ALL with a path array) enumerates every simple path, factorial in a dense cyclic graph.
    The anti-join against the seen set is hashed per level.
    """
    return f"""
WITH RECURSIVE level(depth, nodes, vias, edge_types, transformations, seen) AS (
    SELECT 0, ARRAY[$1::uuid], ARRAY[NULL::uuid], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[$1::uuid]
    UNION ALL
    SELECT l.depth + 1, n.nodes, n.vias, n.edge_types, n.transformations, l.seen || n.nodes
    FROM level l CROSS JOIN LATERAL (
        SELECT array_agg(r.node_id) AS nodes, array_agg(r.via) AS vias, array_agg(r.edge_type) AS edge_types,
               array_agg(r.transformation_type) AS transformations
        FROM (
            SELECT DISTINCT ON (e.{next_col}) e.{next_col} AS node_id, e.{frontier_col} AS via, e.edge_type,
                   e.transformation_type
            FROM pattern_lineage_edges e
            WHERE e.{frontier_col} = ANY(l.nodes)
              AND NOT EXISTS (SELECT 1 FROM unnest(l.seen) AS s(id) WHERE s.id = e.{next_col})
            ORDER BY e.{next_col}, e.edge_type, e.{frontier_col}
        ) r
    ) n
    WHERE l.depth < $2 AND n.nodes IS NOT NULL
)
SELECT w.node_id, n.pattern_id, n.pattern_name, n.pattern_version, l.depth, n.generation, w.edge_type,
       w.transformation_type, w.via AS via_node_id, n.created_at
FROM level l
CROSS JOIN LATERAL unnest(l.nodes, l.vias, l.edge_types, l.transformations)
    AS w(node_id, via, edge_type, transformation_type)
JOIN pattern_lineage_nodes n ON n.id = w.node_id
WHERE l.depth > 0
ORDER BY l.depth, n.created_at, n.id
"""  # noqa: S608 - column names are constants of this module


ANCESTRY_SQL = _walk_sql("target_node_id", "source_node_id")  # edges backwards
DESCENDANTS_SQL = _walk_sql("source_node_id", "target_node_id")  # edges forwards

# UNION (not UNION ALL) over the node id alone discards a node already reached, so each node is
# expanded once and each edge followed once, cycles or not.
INVALIDATE_BELOW_SQL = """
WITH RECURSIVE below(node_id) AS (
    SELECT $1::uuid
    UNION
    SELECT e.target_node_id FROM below b JOIN pattern_lineage_edges e ON e.source_node_id = b.node_id
)
UPDATE pattern_ancestry_cache c SET is_stale = TRUE
WHERE c.pattern_node_id IN (SELECT node_id FROM below) AND NOT c.is_stale
"""

_CACHED_SQL = "SELECT lineage_path FROM pattern_ancestry_cache WHERE pattern_node_id = $1 AND NOT is_stale"
_CACHE_WRITE_SQL = """
INSERT INTO pattern_ancestry_cache (pattern_node_id, ancestor_ids, ancestor_pattern_ids,
    ancestry_depth, total_ancestors, lineage_path, computed_at, is_stale)
VALUES ($1, $2, $3, $4, $5, $6, NOW(), FALSE)
ON CONFLICT (pattern_node_id) DO UPDATE SET ancestor_ids = EXCLUDED.ancestor_ids,
    ancestor_pattern_ids = EXCLUDED.ancestor_pattern_ids, ancestry_depth = EXCLUDED.ancestry_depth,
    total_ancestors = EXCLUDED.total_ancestors, lineage_path = EXCLUDED.lineage_path,
    computed_at = NOW(), is_stale = FALSE
"""


async def walk_ancestors(conn: asyncpg.Connection, node_id: uuid.UUID, max_depth: int) -> list[Relative]:
    """Ancestors of a node, nearest first, at most ``max_depth`` hops (always walks, never the cache)."""
    return rows_as(Relative, await conn.fetch(ANCESTRY_SQL, node_id, max_depth))


async def descendants(conn: asyncpg.Connection, node_id: uuid.UUID, max_depth: int) -> list[Relative]:
    """Descendants of a node, nearest first, at most ``max_depth`` hops."""
    return rows_as(Relative, await conn.fetch(DESCENDANTS_SQL, node_id, max_depth))


async def ancestry(
    conn: asyncpg.Connection, node_id: uuid.UUID, max_depth: int
) -> tuple[list[Relative], bool]:
    """Ancestors of a node (nearest first, at most ``max_depth`` hops), and whether the cache served them.

    Reads only: a fresh cache entry computed at least ``max_depth`` deep answers (trimmed to the
    depth asked), otherwise the graph is walked and nothing is written.
    """
    path = await conn.fetchval(_CACHED_SQL, node_id)
    if path is not None and int(path.get("max_depth", 0)) >= max_depth:
        entries = [Relative.from_cache_entry(a) for a in path["ancestors"]]
        return [a for a in entries if a.depth <= max_depth], True
    return await walk_ancestors(conn, node_id, max_depth), False


async def refresh_ancestry(conn: asyncpg.Connection, node_id: uuid.UUID) -> None:
    """Walk and cache the ancestry of ``node_id`` (fresh), up to :data:`CACHED_ANCESTRY_DEPTH` hops."""
    found = await walk_ancestors(conn, node_id, CACHED_ANCESTRY_DEPTH)
    await conn.execute(
        _CACHE_WRITE_SQL,
        node_id,
        [a.node_id for a in found],
        [a.pattern_id for a in found],
        max((a.depth for a in found), default=0),
        len(found),
        {"max_depth": CACHED_ANCESTRY_DEPTH, "ancestors": [a.cache_entry() for a in found]},
    )


async def invalidate_ancestry_below(conn: asyncpg.Connection, node_id: uuid.UUID) -> None:
    """Mark stale the cached ancestry of ``node_id`` and of every node reachable below it."""
    await conn.execute(INVALIDATE_BELOW_SQL, node_id)


@dataclass(frozen=True)
class EvolutionNode:
    """One version of a pattern, as its evolution lists it (GET lineage/{id}/evolution returns these)."""

    node_id: uuid.UUID
    pattern_id: str
    pattern_name: str
    pattern_type: str
    version: str
    generation: int
    status: str
    code_hash: str | None
    file_path: str | None
    language: str | None
    created_at: datetime
    metadata: dict[str, Any] | None


@dataclass(frozen=True)
class EvolutionEdge:
    """An edge with the pattern ids and versions of both ends."""

    edge_id: uuid.UUID
    source_node_id: uuid.UUID
    target_node_id: uuid.UUID
    source_pattern_id: str
    target_pattern_id: str
    source_version: str
    target_version: str
    edge_type: str
    transformation_type: str | None
    edge_weight: float | None
    created_at: datetime
    metadata: dict[str, Any] | None


async def evolution(
    conn: asyncpg.Connection, pattern_id: str
) -> tuple[list[EvolutionNode], list[EvolutionEdge]]:
    """Every version of a pattern (oldest first) and every edge touching one of them."""
    nodes = rows_as(
        EvolutionNode,
        await conn.fetch(
            """
            SELECT id AS node_id, pattern_id, pattern_name, pattern_type, pattern_version AS version, generation,
                   status, code_hash, file_path, language, created_at, metadata
            FROM pattern_lineage_nodes WHERE pattern_id = $1
            ORDER BY created_at, generation, id
            """,
            pattern_id,
        ),
    )
    if not nodes:
        return [], []
    edges = await conn.fetch(
        """
        SELECT e.id AS edge_id, e.source_node_id, e.target_node_id, s.pattern_id AS source_pattern_id,
               t.pattern_id AS target_pattern_id, s.pattern_version AS source_version,
               t.pattern_version AS target_version, e.edge_type, e.transformation_type,
               e.edge_weight::float8 AS edge_weight, e.created_at, e.metadata
        FROM pattern_lineage_edges e
        JOIN pattern_lineage_nodes s ON s.id = e.source_node_id
        JOIN pattern_lineage_nodes t ON t.id = e.target_node_id
        WHERE e.source_node_id = ANY($1::uuid[]) OR e.target_node_id = ANY($1::uuid[])
        ORDER BY e.created_at, e.id
        """,
        [n.node_id for n in nodes],
    )
    return nodes, rows_as(EvolutionEdge, edges)
