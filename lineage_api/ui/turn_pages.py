"""Turn pages: the waterfall of one turn (hook spans and Claude Code's own), and one span's details.

A turn is an ``execution_traces`` row; when Claude Code's own telemetry was joined to it
(``native_trace_id``), its spans (model requests, tool runs, permission waits) are drawn in the
same waterfall: a native tool span under our ``execute_tool`` span of the same ``tool_use_id``,
everything else under the native interaction. A native trace id opens the turn it was joined to,
or, when no hook turn exists (hooks not installed), the native interaction alone.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from traceability.instrumentation import semconv
from traceability.lineage_api.dependencies import ConnectionDep, SettingsDep
from traceability.lineage_api.store import browse
from traceability.lineage_api.store import sessions as sessions_store
from traceability.lineage_api.ui import code_change, views, waterfall, waterfall_html
from traceability.lineage_api.ui.rendering import PageError, param, render, status_label

router = APIRouter(include_in_schema=False)


def _native_root(row: dict[str, Any]) -> dict[str, Any]:
    """A native interaction shaped like a turn row, for a turn whose hooks never arrived."""
    failed = row["status_code"] == "ERROR"
    return {
        "id": None,
        "correlation_id": row["trace_id"],
        "session_id": row["session_id"],
        "started_at": row["started_at"],
        "completed_at": row["completed_at"],
        "duration_ms": row["duration_ms"],
        "status": semconv.TRACE_STATUS_FAILED if failed else semconv.TRACE_STATUS_COMPLETED,
        "success": not failed,
        "prompt_text": row["prompt_text"],
        "prompt_id": row["prompt_id"],
        "native_trace_id": row["trace_id"],
        "context": {},
        "error_message": None,
        "root_received": True,
        "native_only": True,
    }


async def _root(conn: ConnectionDep, trace_id: str) -> tuple[uuid.UUID, dict[str, Any]] | str:
    """The turn for ``trace_id`` with its ``totals``, or the path of the turn a native trace id was joined to."""
    key = views.parse_trace_id(trace_id)
    if key is None:
        raise PageError(404, f"no turn {trace_id!r}: a trace id is a UUID or 32 hex digits")
    root = await browse.turn_page(conn, key)
    if root is not None:
        if root["correlation_id"] != key:
            return f"/turns/{root['correlation_id'].hex}"
        return key, root
    native = browse.as_dict(await browse.native_interaction(conn, key))
    if native is None:
        raise PageError(404, f"no turn {trace_id}")
    root = _native_root(native)
    totals = await sessions_store.turn_totals(
        conn, [{"turn_id": key, "prompt_id": root["prompt_id"], "native_trace_id": key}]
    )
    root["totals"] = totals.get(key)
    return key, root


async def _turn_context(conn: ConnectionDep, key: uuid.UUID, root: dict[str, Any]) -> dict[str, Any]:
    rows = await browse.turn_spans(conn, root["id"], root.get("native_trace_id"))
    spans = [waterfall.SpanIn(*r) for r in rows]
    axis = waterfall.axis_for(root["started_at"], root["completed_at"], spans)
    bars = waterfall.layout(spans, axis)
    return {
        "root": root,
        "root_status": views.status_of(root),
        "bars": bars,
        "rows_html": waterfall_html.rows_html(bars, status_label, views.duration_text),
        "ticks": axis.ticks(),
        "axis_ms": axis.total_ms,
        "trace_hex": key.hex,
        "span_count": len(spans),
        "native_count": sum(s.kind == "native" for s in spans),
        "live": root["status"] == "in_progress" or not root.get("root_received", True),
    }


@router.get("/turns/{trace_id}", response_class=HTMLResponse)
async def turn_page(trace_id: str, request: Request, conn: ConnectionDep, settings: SettingsDep) -> Response:
    found = await _root(conn, trace_id)
    if isinstance(found, str):
        return RedirectResponse(found, status_code=303)
    key, root = found
    context = await _turn_context(conn, key, root)
    selected = param(request, "span")
    context["details"] = await _span_details(conn, root, selected) if selected else None
    context["jaeger_url"] = settings.jaeger_trace_url(key.hex)
    context["project"] = views.project_of((root.get("context") or {}).get("cwd"))
    context["totals"] = root["totals"]
    context["session_events"] = not root.get("native_only") and not views.is_turn(root)
    context["git"] = None if root.get("native_only") else await browse.git_context(conn, trace_id=root["id"])
    return render(request, "turn.html", context)


@router.get("/turns/{trace_id}/waterfall", response_class=HTMLResponse)
async def turn_waterfall(trace_id: str, request: Request, conn: ConnectionDep) -> Response:
    """The waterfall alone: a running turn's page polls this to grow without a reload."""
    found = await _root(conn, trace_id)
    if isinstance(found, str):
        raise PageError(404, f"{trace_id} is a native trace id; its turn is at {found}")
    return render(request, "_waterfall.html", await _turn_context(conn, *found))


async def _span_details(conn: ConnectionDep, root: dict[str, Any], span_id: str) -> dict[str, Any]:
    row = browse.as_dict(await browse.span(conn, root["id"], span_id)) if root["id"] else None
    if row is None:
        native_id = root.get("native_trace_id")
        native = browse.as_dict(await browse.native_span(conn, native_id, span_id)) if native_id else None
        if native is None:
            raise PageError(404, f"no span {span_id!r} in this turn")
        return {"native": native, "status": views.native_status(native)}
    tool_input = views.as_object(row.get("input_data"))
    previous = None
    if row.get("tool_name") == "Write" and row.get("file_path"):
        previous = await browse.previous_content(
            conn, row["file_path"], row["started_at"], semconv.CODE_CONTENT
        )
    changes = code_change.code_changes(row.get("tool_name"), tool_input, previous)
    versions = [dict(v) for v in await browse.span_executions(conn, row["id"])] if changes else []
    return {
        "span": row,
        "status": views.status_of(row),
        "changes": changes,
        "versions": versions,
        "quality": views.as_object(row.get("quality_results")),
        "rag": views.as_object(row.get("rag_results")),
    }


@router.get("/turns/{trace_id}/spans/{span_id}", response_class=HTMLResponse)
async def span_details(trace_id: str, span_id: str, request: Request, conn: ConnectionDep) -> Response:
    found = await _root(conn, trace_id)
    if isinstance(found, str):
        raise PageError(404, f"{trace_id} is a native trace id; its turn is at {found}")
    _, root = found
    details = await _span_details(conn, root, span_id)
    return render(request, "_span_details.html", {"details": details, "root": root})
