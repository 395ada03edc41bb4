"""Lineage routes: track events (one or a batch), ancestry/descendants, evolution."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from traceability.lineage_api.dependencies import ConnectionDep, PoolDep, SettingsDep
from traceability.lineage_api.errors import ApiError, as_api_error, data_error_message, processing_time_ms
from traceability.lineage_api.graph_render import render_lineage
from traceability.lineage_api.ids import uuid7
from traceability.lineage_api.models import (
    Ancestor,
    AncestryData,
    BatchItemResult,
    BatchSummary,
    BatchTrackResponse,
    Descendant,
    DescendantsData,
    Envelope,
    EvolutionData,
    GraphFormat,
    LineageTrackBatchRequest,
    LineageTrackRequest,
    QueryType,
    TrackResult,
)
from traceability.lineage_api.names import resolve_pattern_ref
from traceability.lineage_api.store import graph
from traceability.lineage_api.store import lineage as store
from traceability.lineage_api.store.errors import DomainError, NotFound
from traceability.lineage_api.tracking import OPERATIONS, track

router = APIRouter(tags=["lineage"])
TRACK_TIMEOUT_S = 30.0
MS_PER_EVENT_TARGET = 50.0  # the per-event time target: batch_efficiency_gain is measured against it


@router.post("/lineage/track", response_model=Envelope[TrackResult], summary="Track one lineage event")
async def track_event(
    req: LineageTrackRequest, conn: ConnectionDep, request: Request
) -> Envelope[TrackResult]:
    correlation_id = uuid7()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(TRACK_TIMEOUT_S):
            result = await track(conn, req, correlation_id)
    except TimeoutError:
        raise ApiError(
            504, f"tracking timed out after {TRACK_TIMEOUT_S:.0f} s", pattern_id=req.pattern_id
        ) from None
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    return Envelope(
        data=result,
        metadata={
            "correlation_id": str(correlation_id),
            "operation": OPERATIONS[req.event_type],
            "duration_ms": duration_ms,
            "pattern_id": req.pattern_id,
            "processing_time_ms": processing_time_ms(request),
        },
    )


async def _one(pool: asyncpg.Pool, index: int, req: LineageTrackRequest, timeout_s: float) -> BatchItemResult:
    correlation_id = uuid7()
    started = time.perf_counter()
    meta: dict[str, Any] = {"correlation_id": str(correlation_id), "operation": OPERATIONS[req.event_type]}
    try:
        async with asyncio.timeout(timeout_s), pool.acquire() as conn:
            try:
                data = await track(conn, req, correlation_id)
            except asyncpg.DataError as exc:  # a bad value in this event only: the others go on
                raise ApiError(400, data_error_message(exc)) from exc
            except DomainError as exc:
                raise as_api_error(exc) from exc
    except ApiError as exc:
        meta["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        return BatchItemResult(
            event_index=index,
            pattern_id=req.pattern_id,
            error=exc.message,
            status_code=exc.status_code,
            metadata=meta,
        )
    except TimeoutError:
        meta["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        return BatchItemResult(
            event_index=index,
            pattern_id=req.pattern_id,
            error=f"timed out after {timeout_s} s",
            status_code=504,
            metadata=meta,
        )
    meta["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
    return BatchItemResult(event_index=index, pattern_id=req.pattern_id, data=data, metadata=meta)


@router.post("/lineage/track/batch", response_model=BatchTrackResponse, summary="Track many lineage events")
async def track_batch(batch: LineageTrackBatchRequest, pool: PoolDep, request: Request) -> BatchTrackResponse:
    """Each event is its own transaction: a failed event does not undo the others.

    ``sequential`` (or ``sequential_processing: true``) runs them in order, so an event may name a
    parent created earlier in the same batch; ``parallel`` runs them concurrently.
    """
    started = time.perf_counter()
    mode = (
        "sequential" if batch.sequential_processing or batch.processing_mode == "sequential" else "parallel"
    )
    if mode == "sequential":
        results = [await _one(pool, i, ev, batch.timeout_per_event) for i, ev in enumerate(batch.events)]
    else:
        results = list(
            await asyncio.gather(
                *(_one(pool, i, ev, batch.timeout_per_event) for i, ev in enumerate(batch.events))
            )
        )
    ok = [r for r in results if r.data is not None]
    failed = [r for r in results if r.data is None]
    elapsed_ms = (time.perf_counter() - started) * 1000
    n = len(batch.events)
    return BatchTrackResponse(
        success=not failed,
        batch_id=batch.batch_id,
        batch_summary=BatchSummary(
            total_events=n,
            successful_events=len(ok),
            failed_events=len(failed),
            handled_duplicates=sum(1 for r in ok if r.data is not None and r.data.status == "already_exists"),
            processing_mode=mode,
            requested_processing_mode=batch.processing_mode,
        ),
        successful_results=ok,
        failed_results=failed or None,
        metadata={
            "processing_time_ms": round(elapsed_ms, 3),
            "average_time_per_event": round(elapsed_ms / n, 3),
            "batch_efficiency_gain": round(
                (n * MS_PER_EVENT_TARGET - elapsed_ms) / (n * MS_PER_EVENT_TARGET) * 100, 2
            ),
        },
    )


def _relative(r: graph.Relative, role: str, via: str) -> dict[str, Any]:
    """The fields of an :class:`Ancestor` (``role`` ancestor) or a :class:`Descendant` (descendant)."""
    return {
        f"{role}_id": r.node_id,
        f"{role}_pattern_id": r.pattern_id,
        f"{role}_pattern_name": r.pattern_name,
        f"{role}_version": r.pattern_version,
        "generation": r.depth,
        "node_generation": r.generation,
        "edge_type": r.edge_type,
        "transformation_type": r.transformation_type,
        via: r.via_node_id,
        "created_at": r.created_at,
    }


@router.get(
    "/lineage/{pattern_id}",
    response_model=Envelope[AncestryData] | Envelope[DescendantsData],
    summary="Ancestry or descendants of a pattern (recursive, cycle-safe, depth-capped)",
)
async def lineage(
    pattern_id: str,
    conn: ConnectionDep,
    settings: SettingsDep,
    request: Request,
    query_type: QueryType = QueryType.ANCESTRY,
    max_depth: Annotated[
        int, Query(ge=1, description="hops to follow (capped by the server)")
    ] = graph.CACHED_ANCESTRY_DEPTH,
    version: Annotated[
        str | None, Query(description="a version of the pattern (default: the newest)")
    ] = None,
    format: Annotated[GraphFormat, Query(description="json, or a mermaid / dot drawing")] = GraphFormat.JSON,
) -> Any:
    if max_depth > settings.ancestry_max_depth:
        raise ApiError(
            400, f"max_depth must be between 1 and {settings.ancestry_max_depth}", max_depth=max_depth
        )
    node = await store.resolve_node(conn, await resolve_pattern_ref(conn, pattern_id), version)
    base: dict[str, Any] = {
        "pattern_id": node.pattern_id,
        "pattern_name": node.pattern_name,
        "pattern_node_id": node.id,
        "pattern_version": node.pattern_version,
        "lineage_id": node.lineage_id,
        "generation": node.generation,
        "max_depth": max_depth,
    }
    data: AncestryData | DescendantsData
    if query_type is QueryType.ANCESTRY:
        found, from_cache = await graph.ancestry(conn, node.id, max_depth)
        ancestors = [Ancestor(**_relative(a, "ancestor", "child_node_id")) for a in found]
        data = AncestryData(
            **base,
            ancestors=ancestors,
            ancestry_depth=max((a.generation for a in ancestors), default=0),
            total_ancestors=len(ancestors),
            from_cache=from_cache,
        )
    else:
        found = await graph.descendants(conn, node.id, max_depth)
        descendants = [Descendant(**_relative(d, "descendant", "parent_node_id")) for d in found]
        data = DescendantsData(
            **base,
            descendants=descendants,
            descendants_depth=max((d.generation for d in descendants), default=0),
            total_descendants=len(descendants),
        )
    if format is not GraphFormat.JSON:
        return PlainTextResponse(render_lineage(data, format))
    return Envelope(
        data=data,
        metadata={"query_type": query_type.value, "processing_time_ms": processing_time_ms(request)},
    )


@router.get(
    "/lineage/{pattern_id}/evolution",
    response_model=Envelope[EvolutionData],
    summary="Every version of a pattern and the edges between them",
)
async def pattern_evolution(
    pattern_id: str, conn: ConnectionDep, request: Request
) -> Envelope[EvolutionData]:
    pattern_id = await resolve_pattern_ref(conn, pattern_id)
    nodes, edges = await graph.evolution(conn, pattern_id)
    if not nodes:
        raise NotFound(f"pattern '{pattern_id}' not found", pattern_id=pattern_id)
    data = EvolutionData(
        pattern_id=pattern_id,
        total_versions=len(nodes),
        evolution_nodes=nodes,
        evolution_edges=edges,
    )
    return Envelope(
        data=data,
        metadata={
            "processing_time_ms": processing_time_ms(request),
            "total_nodes": len(nodes),
            "total_edges": len(edges),
        },
    )
