"""Session pages: the list (newest activity first, filtered, live) and one session's turns."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from traceability.lineage_api.dependencies import ConnectionDep
from traceability.lineage_api.store import browse
from traceability.lineage_api.store import sessions as sessions_store
from traceability.lineage_api.ui import views
from traceability.lineage_api.ui.rendering import PAGE_SIZE, PageError, date_param, int_param, param, render

# suggestions for the tool filter (any name can be typed): Claude Code's built-in tools
KNOWN_TOOLS = ("Agent", "Bash", "Edit", "Glob", "Grep", "MultiEdit", "NotebookEdit", "Read", "Task", "TodoWrite",
               "WebFetch", "WebSearch", "Write")  # fmt: skip

router = APIRouter(include_in_schema=False)


def _session_filter(request: Request) -> browse.SessionFilter:
    status = param(request, "status")
    if status not in (None, "ok", "failed"):
        raise PageError(400, "'status' must be ok or failed")
    until = date_param(request, "until")
    return browse.SessionFilter(
        project=param(request, "project"),
        branch=param(request, "branch"),
        status=status,
        since=date_param(request, "since"),
        until=until + timedelta(days=1) if until and len(param(request, "until") or "") <= 10 else until,
        tool=param(request, "tool"),
        file_path=param(request, "file"),
        text=param(request, "q"),
    )


async def _sessions_context(request: Request, conn: ConnectionDep) -> dict[str, Any]:
    filters = _session_filter(request)
    page = int_param(request, "page", 1, 1, 1_000_000)
    rows, total, capped = await browse.list_sessions(
        conn, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    sessions = [dict(r) for r in rows]
    usage = await browse.session_usage(conn, [str(s["session_id"]) for s in sessions])
    for s in sessions:
        s["usage"] = usage.get(str(s["session_id"]))
    return {
        "sessions": sessions,
        "total": total,
        "capped": capped,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "filters": filters,
        "query": query,
    }


@router.get("/", response_class=HTMLResponse)
async def sessions_page(request: Request, conn: ConnectionDep) -> Response:
    context = await _sessions_context(request, conn)
    context["projects"] = await browse.projects(conn)
    context["tools"] = KNOWN_TOOLS
    return render(request, "sessions.html", context)


@router.get("/sessions/rows", response_class=HTMLResponse)
async def sessions_rows(request: Request, conn: ConnectionDep) -> Response:
    """The list's rows alone: the page polls this to show new sessions without a reload."""
    return render(request, "_session_rows.html", await _sessions_context(request, conn))


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
async def session_page(session_id: str, request: Request, conn: ConnectionDep) -> Response:
    try:
        key = uuid.UUID(session_id)
    except ValueError:
        raise PageError(404, f"no session {session_id!r}: a session id is a UUID") from None
    rows = [dict(r) for r in await browse.session_turns(conn, key)]
    if not rows:
        raise PageError(404, f"no session {session_id}")
    start = min(r["started_at"] for r in rows)
    end = max((r["completed_at"] or r["started_at"]) for r in rows)
    total_ms = max((end - start).total_seconds() * 1000, 1.0)
    for r in rows:
        r["offset_pct"] = round(100 * (r["started_at"] - start).total_seconds() * 1000 / total_ms, 3)
        width = r["duration_ms"] or 0
        r["width_pct"] = round(min(max(100 * width / total_ms, 0.4), 100 - r["offset_pct"]), 3)
        r["display_status"] = views.status_of(r)
        r["is_turn"] = views.is_turn(r)
    turns = [r for r in rows if r["is_turn"]]
    for number, r in enumerate(turns, start=1):
        r["turn_number"] = number  # the session-events rows are not turns
    usage = await sessions_store.turn_totals(
        conn,
        [
            {"turn_id": r["id"], "prompt_id": r["prompt_id"], "native_trace_id": r.get("native_trace_id")}
            for r in turns
        ],
    )
    for r in turns:
        r["usage"] = usage.get(r["id"])
    cwd = next((r["context"].get("cwd") for r in rows if isinstance(r["context"], dict)), None)
    totals = {
        "turns": len(turns),
        "tool_calls": sum(r["tool_calls"] for r in rows),
        "failed_tools": sum(r["failed_tools"] for r in rows),
        "blocked_tools": sum(r["blocked_tools"] for r in rows),
        "duration_ms": total_ms,
        "usage": sessions_store.sum_totals(list(usage.values())) if usage else None,
    }
    context = {
        "session_id": str(key),
        "rows": rows,
        "totals": totals,
        "project": views.project_of(cwd),
        "cwd": cwd,
        "start": start,
        "end": end,
        "git": await browse.git_context(conn, session_id=str(key)),
    }
    return render(request, "session.html", context)
