"""Lineage writes (the caller's transaction) and node look-ups over pattern_lineage_*.

Nodes, edges (parent -> child) and events; every change to the edges keeps the ancestry cache
right (see ``store.graph``). Graph walks are in ``store.graph``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg

from traceability.lineage_api.ids import uuid7
from traceability.lineage_api.store import graph
from traceability.lineage_api.store.errors import InvalidRequest, NotFound
from traceability.lineage_api.store.rows import row_as


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


_NODE_REF_COLUMNS = "id, pattern_id, pattern_name, pattern_version, lineage_id, generation, created_at"


async def latest_node(conn: asyncpg.Connection, pattern_id: str) -> NodeRef | None:
    """The newest version of a pattern."""
    row = await conn.fetchrow(
        f"SELECT {_NODE_REF_COLUMNS} FROM pattern_lineage_nodes WHERE pattern_id = $1 "  # noqa: S608 - constant
        "ORDER BY created_at DESC, generation DESC, id DESC LIMIT 1",
        pattern_id,
    )
    return row_as(NodeRef, row) if row else None


async def node_version(conn: asyncpg.Connection, pattern_id: str, version: str) -> NodeRef | None:
    row = await conn.fetchrow(
        f"SELECT {_NODE_REF_COLUMNS} FROM pattern_lineage_nodes "  # noqa: S608 - constant
        "WHERE pattern_id = $1 AND pattern_version = $2",
        pattern_id,
        version,
    )
    return row_as(NodeRef, row) if row else None


async def resolve_node(conn: asyncpg.Connection, pattern_id: str, version: str | None = None) -> NodeRef:
    """The given version of a pattern, else its newest; NotFound when it does not exist."""
    node = await (node_version(conn, pattern_id, version) if version else latest_node(conn, pattern_id))
    if node is None:
        suffix = f" version '{version}'" if version else ""
        raise NotFound(f"pattern '{pattern_id}'{suffix} not found", pattern_id=pattern_id)
    return node


async def resolve_parents(conn: asyncpg.Connection, parent_pattern_ids: list[str]) -> list[NodeRef]:
    """The newest node of each parent pattern; NotFound naming the first unknown one."""
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
    """Insert a node with its edges, its creation event and its cached ancestry (caller's transaction).

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
        """,  # the RETURNING list is _NODE_REF_COLUMNS
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
    node = row_as(NodeRef, row)
    # a node created just now has no descendants: nothing below it to invalidate, its own ancestry to cache
    edge_ids = await insert_edges(
        conn, node, links, correlation_id=new.correlation_id, created_by=new.triggered_by, new_child=True
    )
    await graph.refresh_ancestry(conn, node.id)
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
    """Edges parent -> child (duplicates ignored); the new ones' ids.

    An edge into an existing ``child`` marks the cached ancestry below it stale and refreshes the
    child's own. A ``new_child`` (created in this transaction) has nothing below it, and its
    edges take its creation time (the deriver's tool use time); others are created now.
    """
    edge_ids: list[uuid.UUID] = []
    for link in links:
        if link.parent.id == child.id:
            raise InvalidRequest(f"pattern '{child.pattern_id}' cannot be its own parent")
        edge_id = await conn.fetchval(
            """
            INSERT INTO pattern_lineage_edges (id, source_node_id, target_node_id, edge_type, transformation_type,
                                               edge_weight, metadata, correlation_id, created_by, created_at)
            VALUES ($10, $1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, NOW()))
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
            child.created_at if new_child else None,
            uuid7(),
        )
        if edge_id is not None:
            edge_ids.append(edge_id)
    if edge_ids and not new_child:
        await graph.invalidate_ancestry_below(conn, child.id)
        await graph.refresh_ancestry(conn, child.id)
    return edge_ids


async def edge_id(
    conn: asyncpg.Connection, source: uuid.UUID, target: uuid.UUID, edge_type: str
) -> uuid.UUID | None:
    """The id of the edge ``source -> target`` of ``edge_type``, if there is one."""
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT id FROM pattern_lineage_edges WHERE source_node_id = $1 AND target_node_id = $2 AND edge_type = $3",
        source,
        target,
        edge_type,
    )
    return found


async def lock_nodes(
    conn: asyncpg.Connection, node_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[NodeRef, str]]:
    """Lock the nodes until the transaction ends (in id order, so two lockers cannot deadlock);
    each one found, with its status."""
    rows = await conn.fetch(
        f"SELECT {_NODE_REF_COLUMNS}, status FROM pattern_lineage_nodes "  # noqa: S608 - constant
        "WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        node_ids,
    )
    return {
        r["id"]: (row_as(NodeRef, {k: v for k, v in r.items() if k != "status"}), r["status"]) for r in rows
    }


async def set_status(conn: asyncpg.Connection, node_id: uuid.UUID, status: str) -> None:
    await conn.execute("UPDATE pattern_lineage_nodes SET status = $2 WHERE id = $1", node_id, status)


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
