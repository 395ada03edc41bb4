"""Catalog routes: counts (stats), the pattern list, one trace with its hook executions."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from traceability.exporter.storage.values import session_uuid
from traceability.lineage_api.dependencies import ConnectionDep, SettingsDep
from traceability.lineage_api.errors import BadRequest, processing_time_ms
from traceability.lineage_api.models import (
    Envelope,
    PatternList,
    PatternSummary,
    SpanData,
    StatsData,
    TraceData,
    TurnTotals,
)
from traceability.lineage_api.store import catalog, sessions
from traceability.lineage_api.store import traces as trace_store
from traceability.lineage_api.store.errors import NotFound

router = APIRouter(tags=["catalog"])


@router.get("/stats", response_model=Envelope[StatsData], summary="Counts of patterns, lineage and traces")
async def stats(conn: ConnectionDep, request: Request) -> Envelope[StatsData]:
    data = StatsData(**await catalog.stats(conn))
    return Envelope(data=data, metadata={"processing_time_ms": processing_time_ms(request)})


@router.get("/patterns", response_model=Envelope[PatternList], summary="List patterns (newest version each)")
async def patterns(
    conn: ConnectionDep,
    request: Request,
    file_path: Annotated[
        str | None, Query(description="exact file path of a version or current location")
    ] = None,
    language: Annotated[str | None, Query(description="language, case-insensitive")] = None,
    name: Annotated[
        str | None, Query(description="substring of the name or qualified name, or a pattern id")
    ] = None,
    pattern_type: str | None = None,
    status: Annotated[str | None, Query(pattern="^(active|deprecated|promoted)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,  # PostgreSQL OFFSET is a bigint
) -> Envelope[PatternList]:
    rows, total = await catalog.list_patterns(
        conn,
        file_path=file_path,
        language=language,
        name=name,
        pattern_type=pattern_type,
        status=status,
        limit=limit,
        offset=offset,
    )
    items = [
        PatternSummary(
            pattern_id=r["pattern_id"],
            pattern_name=r["pattern_name"],
            pattern_type=r["pattern_type"],
            latest_version=r["pattern_version"],
            latest_node_id=r["id"],
            total_versions=r["total_versions"],
            generation=r["generation"],
            lineage_id=r["lineage_id"],
            qualified_name=r["qualified_name"],
            file_path=r["file_path"],
            language=r["language"],
            status=r["status"],
            total_executions=r["total_executions"],
            first_seen_at=r["first_seen_at"],
            last_updated_at=r["created_at"],
        )
        for r in rows
    ]
    data = PatternList(
        patterns=items, total=total, limit=limit, offset=offset, has_more=offset + len(items) < total
    )
    return Envelope(data=data, metadata={"processing_time_ms": processing_time_ms(request)})


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in row.items()}


@router.get(
    "/traces",
    response_model=Envelope[dict[str, Any]],
    summary="Find traces (prompt turns, session events) by session, prompt id or prompt text; newest first",
)
async def traces(
    conn: ConnectionDep,
    settings: SettingsDep,
    request: Request,
    session_id: Annotated[str | None, Query(max_length=512, description="Claude Code's session id")] = None,
    prompt_id: Annotated[str | None, Query(max_length=512, description="Claude Code's prompt id")] = None,
    prompt: Annotated[
        str | None, Query(max_length=512, description="case-insensitive substring of the captured prompt")
    ] = None,
    kind: Annotated[
        Literal["turn", "session"] | None, Query(description="turn traces or session traces only")
    ] = None,
    status: Annotated[str | None, Query(max_length=64, description="completed | failed | ...")] = None,
    since: Annotated[datetime | None, Query(description="started at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="started before (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> Envelope[dict[str, Any]]:
    if since is not None and until is not None and since >= until:
        raise BadRequest(f"since ({since.isoformat()}) must be before until ({until.isoformat()})")
    flt = trace_store.TraceFilter(
        session_id=session_uuid(session_id)[0] if session_id else None,
        prompt_id=prompt_id,
        prompt_contains=prompt,
        kind=kind,
        status=status,
        since=since,
        until=until,
    )
    rows, total = await trace_store.list_traces(conn, flt, limit, offset)
    for row in rows:
        row["jaeger_trace_id"] = row.pop("otel_trace_id")
        row["jaeger_url"] = settings.jaeger_trace_url(row["jaeger_trace_id"])
    next_offset = offset + len(rows) if offset + len(rows) < total else None
    return Envelope(
        data={"traces": rows, "total": total, "limit": limit, "offset": offset, "next_offset": next_offset},
        metadata={"processing_time_ms": processing_time_ms(request)},
    )


@router.get(
    "/traces/{correlation_id}",
    response_model=Envelope[TraceData],
    summary="One turn: its hook spans, Claude Code's own spans and events merged in time order, totals",
)
async def trace(
    correlation_id: uuid.UUID,
    conn: ConnectionDep,
    settings: SettingsDep,
    request: Request,
    detail: Annotated[
        Literal["summary", "full"],
        Query(description="full: also every hook execution's whole row (inputs, outputs, attributes)"),
    ] = "summary",
) -> Response:
    """``correlation_id`` is the trace's UUID (the 32-hex Jaeger trace id is accepted too), or
    Claude Code's own trace id of the turn: both answer with the same merged turn.

    Like a trace view, the answer lists every span once, in ``timeline``, without payloads; one
    span's whole row is ``GET traces/{id}/spans/{span_id}``, every hook row ``?detail=full``.
    The body is serialized once here (FastAPI would validate the whole model again first), with
    the pattern executions, the timeline and the hook rows spliced in as PostgreSQL built them
    (``TimelineItem`` documents the timeline's items)."""
    full = detail == "full"
    found = await trace_store.merged_turn(conn, correlation_id, full=full)
    if found is not None:
        row = found["trace"]
        turn_id, native_id = row["id"], row.get("native_trace_id")
        trace_row, origin, totals = row, "hooks", found["totals"]
        hooks_json, hook_count = found.get("hooks_json", "null"), found["hook_count"]
        executions_json, timeline = found["executions_json"], found["timeline_json"]
    else:  # a Claude Code turn whose hooks never arrived (hooks not installed)
        resolved = await sessions.resolve_native(conn, correlation_id)
        if resolved is None or "native" not in resolved:
            raise NotFound(f"trace '{correlation_id}' not found", correlation_id=str(correlation_id))
        trace_row, origin = resolved["native"], "native"
        turn_id, native_id, prompt_id = None, trace_row["trace_id"], trace_row["prompt_id"]
        hooks_json, hook_count, executions_json = "[]" if full else "null", 0, "[]"
        by_turn = await sessions.turn_totals(
            conn, [{"turn_id": native_id, "prompt_id": prompt_id, "native_trace_id": native_id}]
        )
        totals = by_turn[native_id]
        timeline = await sessions.timeline_json(conn, None, native_id, prompt_id)
    jaeger_id = (turn_id or native_id).hex
    data = TraceData(
        correlation_id=turn_id or native_id,
        jaeger_trace_id=jaeger_id,
        jaeger_url=settings.jaeger_trace_url(jaeger_id),
        ui_url=f"/turns/{jaeger_id}",
        trace=_jsonable(trace_row),
        hook_executions=None,
        total_hook_executions=hook_count,
        pattern_executions=[],
        native_trace_id=native_id.hex if native_id else None,
        native_jaeger_url=settings.jaeger_trace_url(native_id.hex) if native_id else None,
        origin=origin,
        totals=TurnTotals(**totals),
        timeline=[],
    )
    # hook and pattern executions and the timeline arrive as JSON from PostgreSQL: spliced in as they are
    head = data.model_dump_json(exclude={"hook_executions", "pattern_executions", "timeline"})
    return _spliced(
        head,
        {"hook_executions": hooks_json, "pattern_executions": executions_json, "timeline": timeline},
        request,
    )


@router.get(
    "/traces/{correlation_id}/spans/{span_id}",
    response_model=Envelope[SpanData],
    summary="One span of a turn, whole: a hook span's row (input, output, attributes) or Claude Code's span",
)
async def trace_span(
    correlation_id: uuid.UUID,
    span_id: Annotated[
        str, Path(pattern="^[0-9a-fA-F]{16}$", description="16 hex, as the timeline gives it")
    ],
    conn: ConnectionDep,
    request: Request,
) -> Response:
    """``correlation_id`` as for ``GET traces/{id}``; a hook span of the turn before a Claude Code
    span with the same id. The row is spliced in as PostgreSQL encoded it."""
    span_id = span_id.lower()
    found = await trace_store.span(conn, correlation_id, span_id)
    if found is None:
        raise NotFound(
            f"span '{span_id}' not found in trace '{correlation_id}'",
            correlation_id=str(correlation_id),
            span_id=span_id,
        )
    turn_id = found["turn_id"] or correlation_id
    head = SpanData(
        correlation_id=turn_id, span_id=span_id, origin=found["origin"], span={}, pattern_executions=[]
    ).model_dump_json(exclude={"span", "pattern_executions"})
    return _spliced(
        head, {"span": found["span_json"], "pattern_executions": found["executions_json"]}, request
    )


def _spliced(head: str, parts: dict[str, str], request: Request) -> Response:
    """The envelope of ``head`` (a model's JSON without ``parts``) with ``parts`` (name -> JSON text) added."""
    metadata = json.dumps({"processing_time_ms": processing_time_ms(request)})
    spliced = "".join(f',"{name}":{text}' for name, text in parts.items())
    body = f'{{"success":true,"data":{head[:-1]}{spliced}}},"metadata":{metadata}}}'
    return Response(body, media_type="application/json")
