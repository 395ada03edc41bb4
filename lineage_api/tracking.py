"""The six lineage operations behind POST lineage/track: each runs in one transaction."""

from __future__ import annotations

import uuid

import asyncpg

from traceability.lineage_api.models import (
    EdgeType,
    EventType,
    LineageTrackRequest,
    TrackResult,
    TransformationType,
)
from traceability.lineage_api.store import lineage as store
from traceability.lineage_api.store.errors import InvalidRequest
from traceability.lineage_api.store.lineage import Link, NewNode, OperationResult

DEFAULT_VERSION = "1.0.0"
OPERATIONS: dict[EventType, str] = {
    EventType.PATTERN_CREATED: "track_creation",
    EventType.PATTERN_MODIFIED: "track_modification",
    EventType.PATTERN_MERGED: "track_merge",
    EventType.PATTERN_APPLIED: "track_application",
    EventType.PATTERN_DEPRECATED: "track_deprecation",
    EventType.PATTERN_FORKED: "track_fork",
}

# Edge and transformation used when the request names none.
_DEFAULT_LINKS: dict[EventType, tuple[EdgeType, TransformationType | None]] = {
    EventType.PATTERN_CREATED: (EdgeType.DERIVED_FROM, None),
    EventType.PATTERN_MODIFIED: (EdgeType.MODIFIED_FROM, TransformationType.REFACTOR),
    EventType.PATTERN_FORKED: (EdgeType.DERIVED_FROM, TransformationType.REFACTOR),
    EventType.PATTERN_MERGED: (EdgeType.MERGED_FROM, TransformationType.MERGE),
    EventType.PATTERN_DEPRECATED: (EdgeType.REPLACED_BY, None),
}


def _links(req: LineageTrackRequest, parents: list[store.NodeRef]) -> list[Link]:
    default_edge, default_transformation = _DEFAULT_LINKS[req.event_type]
    edge_type = req.edge_type or default_edge
    transformation = req.transformation_type or default_transformation
    return [
        Link(
            parent,
            edge_type.value,
            transformation.value if transformation else None,
            metadata={"reason": req.reason} if req.reason else {},
        )
        for parent in parents
    ]


def _new_node(req: LineageTrackRequest, correlation_id: uuid.UUID, parents: list[store.NodeRef]) -> NewNode:
    """The node to insert; a new version of the same pattern keeps its name unless one is given."""
    metadata = dict(req.metadata)
    if req.reason:
        metadata["reason"] = req.reason
    return NewNode(
        pattern_id=req.pattern_id,
        pattern_name=req.pattern_name
        or next((p.pattern_name for p in parents if p.pattern_id == req.pattern_id), req.pattern_id),
        pattern_type=req.pattern_type,
        pattern_version=req.pattern_version,
        pattern_data=req.pattern_data,
        event_type=req.event_type.value,
        triggered_by=req.triggered_by,
        tool_name=req.tool_name,
        file_path=req.file_path,
        language=req.language,
        metadata=metadata,
        correlation_id=correlation_id,
    )


async def track(conn: asyncpg.Connection, req: LineageTrackRequest, correlation_id: uuid.UUID) -> TrackResult:
    """Apply one lineage event; raises NotFound / InvalidRequest for unknown patterns or bad combinations."""
    async with conn.transaction():
        result = await _dispatch(conn, req, correlation_id)
    node = result.node
    return TrackResult(
        status=result.status,
        message=result.message,
        operation=OPERATIONS[req.event_type],
        pattern_id=node.pattern_id,
        pattern_name=node.pattern_name,
        pattern_version=node.pattern_version,
        pattern_node_id=node.id,
        node_id=node.id,
        lineage_id=node.lineage_id,
        generation=node.generation,
        event_id=result.event_id,
        parent_node_ids=result.parent_node_ids,
        edge_ids=result.edge_ids,
        created_at=node.created_at,
    )


async def _dispatch(
    conn: asyncpg.Connection, req: LineageTrackRequest, correlation_id: uuid.UUID
) -> OperationResult:
    event = req.event_type
    if event is EventType.PATTERN_CREATED:
        parents = await store.resolve_parents(conn, req.parent_pattern_ids)
        return await store.insert_node(conn, _new_node(req, correlation_id, parents), _links(req, parents))

    if event in (EventType.PATTERN_MODIFIED, EventType.PATTERN_FORKED):
        if req.parent_pattern_ids:
            parents = await store.resolve_parents(conn, req.parent_pattern_ids[:1])
        elif event is EventType.PATTERN_FORKED:
            raise InvalidRequest("pattern_forked needs parent_pattern_ids: the pattern it forks from")
        else:  # a new version of the same pattern: its newest version is the parent
            parents = [await store.resolve_node(conn, req.pattern_id)]
        return await store.insert_node(conn, _new_node(req, correlation_id, parents), _links(req, parents))

    if event is EventType.PATTERN_MERGED:
        if not req.parent_pattern_ids:
            raise InvalidRequest("pattern_merged needs parent_pattern_ids: the patterns merged into this one")
        parents = await store.resolve_parents(conn, req.parent_pattern_ids)
        return await store.insert_node(conn, _new_node(req, correlation_id, parents), _links(req, parents))

    if event is EventType.PATTERN_APPLIED:
        # the newest version, unless the request names another (non-default) version
        version = req.pattern_version if req.pattern_version != DEFAULT_VERSION else None
        node = await store.resolve_node(conn, req.pattern_id, version)
        event_id = await store.insert_event(
            conn,
            node_id=node.id,
            pattern_id=node.pattern_id,
            event_type=event.value,
            event_data={**req.pattern_data, "tool_name": req.tool_name, "file_path": req.file_path},
            triggered_by=req.triggered_by,
            metadata=req.metadata,
            reason=req.reason,
            correlation_id=correlation_id,
        )
        return OperationResult("recorded", node, event_id, [], [])

    assert event is EventType.PATTERN_DEPRECATED
    replacements = await store.resolve_parents(conn, req.parent_pattern_ids)
    return await store.deprecate(
        conn,
        req.pattern_id,
        event_data=req.pattern_data,
        triggered_by=req.triggered_by,
        reason=req.reason,
        correlation_id=correlation_id,
        replacements=_links(req, replacements),
        metadata=req.metadata,
    )
