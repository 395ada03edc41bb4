"""Lineage operations (each one transaction) and recursive graph queries over pattern_lineage_*.

Edges point from parent (source) to child (target). Ancestry walks edges backwards
(``target_node_id = current``), descendants forwards, breadth first with a set of nodes seen (each
node expanded once, so the cost is linear in the edges visited, cycles or not), and both stop at
``max_depth`` hops. Ancestry results are cached per node in
``pattern_ancestry_cache``; adding an edge marks the cache of its target and of every node below
it stale.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg

from traceability.lineage_api.errors import BadRequest, NotFound
from traceability.lineage_api.ids import uuid7


@dataclass(frozen=True)
class NodeRef:
    id: uuid.UUID
    pattern_id: str
    pattern_name: str
    pattern_version: str
    lineage_id: uuid.UUID | None
    generation: int
    created_at: datetime


@dataclass
class NewNode:
    """A node to insert, and how it links to its parents."""

    pattern_id: str
    pattern_name: str
    pattern_type: str
    pattern_version: str
    pattern_data: dict[str, Any]
    event_type: str
    triggered_by: str
    tool_name: str | None = None
    file_path: str | None = None
    language: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    code_hash: str | None = None
    qualified_name: str | None = None
    correlation_id: uuid.UUID | None = None
    source_system: str = "api"
    node_id: uuid.UUID | None = None  # given by the deriver (deterministic), else generated
    created_at: datetime | None = None  # the deriver passes the tool use's time


@dataclass
class Link:
    parent: NodeRef
    edge_type: str
    transformation_type: str | None
    edge_weight: float = 1.0
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class OperationResult:
    status: Literal["created", "already_exists", "recorded"]
    node: NodeRef
    event_id: uuid.UUID | None
    parent_node_ids: list[uuid.UUID]
    edge_ids: list[uuid.UUID]
    message: str | None = None


def _ref(row: asyncpg.Record) -> NodeRef:
    return NodeRef(
        id=row["id"],
        pattern_id=row["pattern_id"],
        pattern_name=row["pattern_name"],
        pattern_version=row["pattern_version"],
        lineage_id=row["lineage_id"],
        generation=row["generation"],
        created_at=row["created_at"],
    )


async def latest_node(conn: asyncpg.Connection, pattern_id: str) -> NodeRef | None:
    """The newest version of a pattern."""
    row = await conn.fetchrow(
        "SELECT id, pattern_id, pattern_name, pattern_version, lineage_id, generation, created_at FROM pattern_lineage_nodes WHERE pattern_id = $1 "
        "ORDER BY created_at DESC, generation DESC, id DESC LIMIT 1",
        pattern_id,
    )
    return _ref(row) if row else None


async def node_version(conn: asyncpg.Connection, pattern_id: str, version: str) -> NodeRef | None:
    row = await conn.fetchrow(
        "SELECT id, pattern_id, pattern_name, pattern_version, lineage_id, generation, created_at FROM pattern_lineage_nodes WHERE pattern_id = $1 AND pattern_version = $2",
        pattern_id,
        version,
    )
    return _ref(row) if row else None


async def resolve_node(conn: asyncpg.Connection, pattern_id: str, version: str | None = None) -> NodeRef:
    """The given version of a pattern, else its newest; 404 when it does not exist."""
    node = await (node_version(conn, pattern_id, version) if version else latest_node(conn, pattern_id))
    if node is None:
        suffix = f" version '{version}'" if version else ""
        raise NotFound(f"pattern '{pattern_id}'{suffix} not found", pattern_id=pattern_id)
    return node


async def resolve_parents(conn: asyncpg.Connection, parent_pattern_ids: list[str]) -> list[NodeRef]:
    """The newest node of each parent pattern; 404 naming the first unknown one."""
    parents: list[NodeRef] = []
    for pid in dict.fromkeys(parent_pattern_ids):
        node = await latest_node(conn, pid)
        if node is None:
            raise NotFound(f"parent pattern '{pid}' not found", pattern_id=pid)
        parents.append(node)
    return parents


async def insert_node(
    conn: asyncpg.Connection, new: NewNode, links: list[Link], *, dedupe_key: str | None = None
) -> OperationResult:
    """Insert a node with its edges, its creation event and cache invalidation (caller's transaction).

    A node whose (pattern_id, pattern_version) exists is not touched: ``already_exists``.
    """
    lineage_id = links[0].parent.lineage_id if links and links[0].parent.lineage_id else uuid7()
    generation = max((link.parent.generation for link in links), default=0) + 1
    row = await conn.fetchrow(
        """
        INSERT INTO pattern_lineage_nodes (
            id, pattern_id, pattern_name, pattern_type, pattern_version, pattern_data, generation,
            metadata, lineage_id, source_system, source_user, correlation_id, event_type, tool_name,
            file_path, language, code_hash, qualified_name, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                $15, $16, $17, $18, COALESCE($19, NOW()))
        ON CONFLICT (pattern_id, pattern_version) DO NOTHING
        RETURNING id, pattern_id, pattern_name, pattern_version, lineage_id, generation, created_at
        """,
        new.node_id or uuid7(),
        new.pattern_id,
        new.pattern_name,
        new.pattern_type,
        new.pattern_version,
        new.pattern_data,
        generation,
        new.metadata,
        lineage_id,
        new.source_system,
        new.triggered_by,
        new.correlation_id,
        new.event_type,
        new.tool_name,
        new.file_path,
        new.language,
        new.code_hash,
        new.qualified_name,
        new.created_at,
    )
    if row is None:  # this version exists (inserted before, or just now by a concurrent writer)
        existing = await node_version(conn, new.pattern_id, new.pattern_version)
        assert existing is not None
        return _already_exists(existing)
    node = _ref(row)
    # a node created just now has no descendants and no cached ancestry: nothing to invalidate
    edge_ids = await insert_edges(
        conn, node, links, correlation_id=new.correlation_id, created_by=new.triggered_by, new_child=True
    )
    event_id = await insert_event(
        conn,
        node_id=node.id,
        pattern_id=node.pattern_id,
        event_type=new.event_type,
        event_data=new.pattern_data,
        triggered_by=new.triggered_by,
        parent_pattern_ids=[link.parent.pattern_id for link in links],
        parent_node_ids=[link.parent.id for link in links],
        metadata=new.metadata,
        reason=new.metadata.get("reason"),
        correlation_id=new.correlation_id,
        dedupe_key=dedupe_key,
        created_at=new.created_at,
    )
    return OperationResult("created", node, event_id, [link.parent.id for link in links], edge_ids)


def _already_exists(node: NodeRef) -> OperationResult:
    return OperationResult(
        "already_exists",
        node,
        None,
        [],
        [],
        message=f"pattern '{node.pattern_id}' version '{node.pattern_version}' already exists",
    )


async def insert_edges(
    conn: asyncpg.Connection,
    child: NodeRef,
    links: list[Link],
    *,
    correlation_id: uuid.UUID | None,
    created_by: str,
    new_child: bool = False,
) -> list[uuid.UUID]:
    """Edges parent -> child (duplicates ignored), then invalidate the ancestry cache below ``child``
    (not needed for a ``new_child`` created in this transaction: nothing is cached below it)."""
    edge_ids: list[uuid.UUID] = []
    for link in links:
        if link.parent.id == child.id:
            raise BadRequest(f"pattern '{child.pattern_id}' cannot be its own parent")
        edge_id = await conn.fetchval(
            """
            INSERT INTO pattern_lineage_edges (id, source_node_id, target_node_id, edge_type, transformation_type,
                                               edge_weight, metadata, correlation_id, created_by, created_at)
            VALUES ($10, $1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (source_node_id, target_node_id, edge_type) DO NOTHING
            RETURNING id
            """,
            link.parent.id,
            child.id,
            link.edge_type,
            link.transformation_type,
            round(min(max(link.edge_weight, 0.0), 1.0), 4),
            link.metadata or None,
            correlation_id,
            created_by,
            child.created_at,
            uuid7(),
        )
        if edge_id is not None:
            edge_ids.append(edge_id)
    if edge_ids and not new_child:
        await invalidate_ancestry_below(conn, child.id)
    return edge_ids


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


async def invalidate_ancestry_below(conn: asyncpg.Connection, node_id: uuid.UUID) -> None:
    """Mark stale the cached ancestry of ``node_id`` and of every node reachable below it."""
    await conn.execute(INVALIDATE_BELOW_SQL, node_id)


async def insert_event(
    conn: asyncpg.Connection,
    *,
    node_id: uuid.UUID,
    pattern_id: str,
    event_type: str,
    event_data: dict[str, Any] | None,
    triggered_by: str,
    parent_pattern_ids: list[str] | None = None,
    parent_node_ids: list[uuid.UUID] | None = None,
    metadata: dict[str, Any] | None = None,
    reason: str | None = None,
    correlation_id: uuid.UUID | None = None,
    event_subtype: str | None = None,
    dedupe_key: str | None = None,
    created_at: datetime | None = None,
    success: bool = True,
) -> uuid.UUID | None:
    """One event row; with a ``dedupe_key`` a repeat is ignored (returns None)."""
    result: uuid.UUID | None = await conn.fetchval(
        """
        INSERT INTO pattern_lineage_events (id, node_id, event_type, event_subtype, event_data, triggered_by,
            pattern_id, parent_pattern_ids, parent_node_ids, metadata, reason, correlation_id, dedupe_key,
            created_at, success)
        VALUES ($15, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, COALESCE($13, NOW()), $14)
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING id
        """,
        node_id,
        event_type,
        event_subtype,
        event_data or {},
        triggered_by,
        pattern_id,
        parent_pattern_ids or [],
        parent_node_ids or [],
        metadata or None,
        reason,
        correlation_id,
        dedupe_key,
        created_at,
        success,
        uuid7(),
    )
    return result


async def deprecate(
    conn: asyncpg.Connection,
    pattern_id: str,
    *,
    event_data: dict[str, Any],
    triggered_by: str,
    reason: str | None,
    correlation_id: uuid.UUID | None,
    replacements: list[Link],
    metadata: dict[str, Any],
) -> OperationResult:
    """Mark every version deprecated; link replacements (old -> replacement) when given."""
    node = await resolve_node(conn, pattern_id)
    await conn.execute(
        "UPDATE pattern_lineage_nodes SET status = 'deprecated' WHERE pattern_id = $1", pattern_id
    )
    edge_ids: list[uuid.UUID] = []
    for link in replacements:
        replacement = link.parent
        edge_ids += await insert_edges(
            conn,
            replacement,
            [Link(node, link.edge_type, link.transformation_type, metadata=link.metadata)],
            correlation_id=correlation_id,
            created_by=triggered_by,
        )
    event_id = await insert_event(
        conn,
        node_id=node.id,
        pattern_id=pattern_id,
        event_type="pattern_deprecated",
        event_data=event_data,
        triggered_by=triggered_by,
        parent_pattern_ids=[link.parent.pattern_id for link in replacements],
        parent_node_ids=[link.parent.id for link in replacements],
        metadata=metadata,
        reason=reason,
        correlation_id=correlation_id,
    )
    return OperationResult("recorded", node, event_id, [link.parent.id for link in replacements], edge_ids)


# --- graph queries -------------------------------------------------------------------------------


def _walk_sql(frontier_col: str, next_col: str, via: str) -> str:
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
SELECT w.node_id, w.via AS {via}, l.depth, w.edge_type, w.transformation_type,
       n.pattern_id, n.pattern_name, n.pattern_version, n.generation, n.created_at
FROM level l
CROSS JOIN LATERAL unnest(l.nodes, l.vias, l.edge_types, l.transformations)
    AS w(node_id, via, edge_type, transformation_type)
JOIN pattern_lineage_nodes n ON n.id = w.node_id
WHERE l.depth > 0
ORDER BY l.depth, n.created_at, n.id
"""  # noqa: S608 - column names are constants of this module


ANCESTRY_SQL = _walk_sql("target_node_id", "source_node_id", "child_id")  # edges backwards
DESCENDANTS_SQL = _walk_sql("source_node_id", "target_node_id", "parent_id")  # edges forwards


def _ancestor_entry(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "ancestor_id": str(row["node_id"]),
        "ancestor_pattern_id": row["pattern_id"],
        "ancestor_pattern_name": row["pattern_name"],
        "ancestor_version": row["pattern_version"],
        "generation": row["depth"],
        "node_generation": row["generation"],
        "edge_type": row["edge_type"],
        "transformation_type": row["transformation_type"],
        "child_node_id": str(row["child_id"]),
        "created_at": row["created_at"].isoformat(),
    }


async def ancestry(
    conn: asyncpg.Connection, node_id: uuid.UUID, max_depth: int, *, use_cache: bool = True
) -> tuple[list[dict[str, Any]], bool]:
    """Ancestors of a node (nearest first, at most ``max_depth`` hops), and whether the cache served them.

    The cache row keeps the full walk up to the depth it was computed with; a shallower request
    is answered from it, a deeper one recomputes.
    """
    if use_cache:
        cached = await conn.fetchrow(
            "SELECT lineage_path FROM pattern_ancestry_cache WHERE pattern_node_id = $1 AND NOT is_stale",
            node_id,
        )
        if cached is not None and cached["lineage_path"] is not None:
            path = cached["lineage_path"]
            if int(path.get("max_depth", 0)) >= max_depth:
                return [a for a in path["ancestors"] if a["generation"] <= max_depth], True
    rows = await conn.fetch(ANCESTRY_SQL, node_id, max_depth)
    entries = [_ancestor_entry(r) for r in rows]
    if use_cache:
        await conn.execute(
            """
            INSERT INTO pattern_ancestry_cache (pattern_node_id, ancestor_ids, ancestor_pattern_ids,
                ancestry_depth, total_ancestors, lineage_path, computed_at, is_stale)
            VALUES ($1, $2, $3, $4, $5, $6, NOW(), FALSE)
            ON CONFLICT (pattern_node_id) DO UPDATE SET ancestor_ids = EXCLUDED.ancestor_ids,
                ancestor_pattern_ids = EXCLUDED.ancestor_pattern_ids, ancestry_depth = EXCLUDED.ancestry_depth,
                total_ancestors = EXCLUDED.total_ancestors, lineage_path = EXCLUDED.lineage_path,
                computed_at = NOW(), is_stale = FALSE
            """,
            node_id,
            [r["node_id"] for r in rows],
            [r["pattern_id"] for r in rows],
            max((r["depth"] for r in rows), default=0),
            len(rows),
            {"max_depth": max_depth, "ancestors": entries},
        )
    return entries, False


async def descendants(conn: asyncpg.Connection, node_id: uuid.UUID, max_depth: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(DESCENDANTS_SQL, node_id, max_depth)
    return [
        {
            "descendant_id": r["node_id"],
            "descendant_pattern_id": r["pattern_id"],
            "descendant_pattern_name": r["pattern_name"],
            "descendant_version": r["pattern_version"],
            "generation": r["depth"],
            "node_generation": r["generation"],
            "edge_type": r["edge_type"],
            "transformation_type": r["transformation_type"],
            "parent_node_id": r["parent_id"],
            "created_at": r["created_at"],
        }
        for r in rows
    ]


async def evolution(
    conn: asyncpg.Connection, pattern_id: str
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """Every version of a pattern (oldest first) and every edge touching one of them."""
    nodes = await conn.fetch(
        """
        SELECT id, pattern_id, pattern_name, pattern_type, pattern_version, generation, status, code_hash,
               file_path, language, created_at, metadata
        FROM pattern_lineage_nodes WHERE pattern_id = $1
        ORDER BY created_at, generation, id
        """,
        pattern_id,
    )
    if not nodes:
        return [], []
    edges = await conn.fetch(
        """
        SELECT e.id, e.source_node_id, e.target_node_id, s.pattern_id AS source_pattern_id,
               t.pattern_id AS target_pattern_id, s.pattern_version AS source_version,
               t.pattern_version AS target_version, e.edge_type, e.transformation_type,
               e.edge_weight::float8 AS edge_weight, e.created_at, e.metadata
        FROM pattern_lineage_edges e
        JOIN pattern_lineage_nodes s ON s.id = e.source_node_id
        JOIN pattern_lineage_nodes t ON t.id = e.target_node_id
        WHERE e.source_node_id = ANY($1::uuid[]) OR e.target_node_id = ANY($1::uuid[])
        ORDER BY e.created_at, e.id
        """,
        [n["id"] for n in nodes],
    )
    return nodes, edges
