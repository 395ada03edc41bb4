"""The web UI's pages: sessions, a session, a turn's waterfall, patterns, a pattern, the overview.

Thin handlers: each reads through the store layer, shapes the rows with ``views``/``waterfall``/
``charts``/``lineage_graph`` and renders a template (autoescaped: every stored string is shown
as text). Query parameters are parsed here so that a malformed one is a 400 page, not a JSON 422.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from traceability.instrumentation import semconv
from traceability.lineage_api.analytics.compute import compute_analytics
from traceability.lineage_api.analytics.models import AnalyticsRequest
from traceability.lineage_api.dependencies import ConnectionDep, SettingsDep
from traceability.lineage_api.errors import ApiError
from traceability.lineage_api.feedback.analyze import analyze, apply_improvements
from traceability.lineage_api.feedback.models import FeedbackAnalyzeRequest, FeedbackSettings
from traceability.lineage_api.names import resolve_pattern_ref
from traceability.lineage_api.store import browse, patterns_view
from traceability.lineage_api.store import catalog as catalog_store
from traceability.lineage_api.ui import auth, charts, code_change, lineage_graph, overview, views, waterfall

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["duration"] = views.duration_text
TEMPLATES.env.filters["when"] = views.when
TEMPLATES.env.filters["pretty"] = views.pretty_json
TEMPLATES.env.globals["status_label"] = lambda s: views.STATUS_LABELS.get(s, s)

PAGE_SIZE = 50
# suggestions for the tool filter (any name can be typed): Claude Code's built-in tools
KNOWN_TOOLS = ("Agent", "Bash", "Edit", "Glob", "Grep", "MultiEdit", "NotebookEdit", "Read", "Task", "TodoWrite",
               "WebFetch", "WebSearch", "Write")  # fmt: skip
WINDOWS = {"weekly": 7, "monthly": 30, "quarterly": 90}

router = APIRouter(include_in_schema=False)


class PageError(Exception):
    """A 400 or 404 shown as a page that links back."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, "error.html", {"status": status_code, "message": message}, status_code=status_code
    )


def _render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    settings = request.app.state.settings
    context = {"nav": name.split(".")[0], "writes_open": settings.access.token is None, **context}
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def _param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > 500:
        raise PageError(400, f"'{name}' is longer than 500 characters")
    return value.strip()


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = _param(request, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise PageError(400, f"'{name}' must be a whole number, not {text!r}") from None
    if not low <= value <= high:
        raise PageError(400, f"'{name}' must be between {low} and {high}")
    return value


def _date_param(request: Request, name: str) -> datetime | None:
    text = _param(request, name)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PageError(400, f"'{name}' must be a date like 2026-11-30, not {text!r}") from None
    if not 1980 <= parsed.year <= 9000:
        raise PageError(400, f"'{name}' must be between the years 1980 and 9000")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _as_of(request: Request) -> datetime:
    """The end of the charts' window: ``as_of`` when given (stable links), else now."""
    return _date_param(request, "as_of") or datetime.now(UTC)


def _session_filter(request: Request) -> browse.SessionFilter:
    status = _param(request, "status")
    if status not in (None, "ok", "failed"):
        raise PageError(400, "'status' must be ok or failed")
    until = _date_param(request, "until")
    return browse.SessionFilter(
        project=_param(request, "project"),
        status=status,
        since=_date_param(request, "since"),
        until=until + timedelta(days=1) if until and len(_param(request, "until") or "") <= 10 else until,
        tool=_param(request, "tool"),
        file_path=_param(request, "file"),
        text=_param(request, "q"),
    )


async def _sessions_context(request: Request, conn: ConnectionDep) -> dict[str, Any]:
    filters = _session_filter(request)
    page = _int_param(request, "page", 1, 1, 1_000_000)
    rows, total, capped = await browse.list_sessions(
        conn, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return {
        "sessions": [dict(r) for r in rows],
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
    return _render(request, "sessions.html", context)


@router.get("/sessions/rows", response_class=HTMLResponse)
async def sessions_rows(request: Request, conn: ConnectionDep) -> Response:
    """The list's rows alone: the page polls this to show new sessions without a reload."""
    return _render(request, "_session_rows.html", await _sessions_context(request, conn))


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
        r["is_turn"] = r["span_name"] == semconv.SPAN_NAME_TURN
    turns = [r for r in rows if r["is_turn"]]
    cwd = next((r["context"].get("cwd") for r in rows if isinstance(r["context"], dict)), None)
    totals = {
        "turns": len(turns),
        "tool_calls": sum(r["tool_calls"] for r in rows),
        "failed_tools": sum(r["failed_tools"] for r in rows),
        "blocked_tools": sum(r["blocked_tools"] for r in rows),
        "duration_ms": total_ms,
    }
    context = {
        "session_id": str(key),
        "rows": rows,
        "totals": totals,
        "project": views.project_of(cwd),
        "cwd": cwd,
        "start": start,
        "end": end,
    }
    return _render(request, "session.html", context)


async def _turn_context(request: Request, conn: ConnectionDep, trace_id: str) -> dict[str, Any]:
    key = views.parse_trace_id(trace_id)
    if key is None:
        raise PageError(404, f"no turn {trace_id!r}: a trace id is a UUID or 32 hex digits")
    root = browse.as_dict(await browse.turn(conn, key))
    if root is None:
        raise PageError(404, f"no turn {trace_id}")
    rows = [dict(r) for r in await browse.turn_spans(conn, root["id"])]
    spans = [views.span_in(r) for r in rows]
    axis = waterfall.axis_for(root["started_at"], root["completed_at"], spans)
    bars = waterfall.layout(spans, axis)
    return {
        "root": root,
        "root_status": views.status_of(root),
        "bars": bars,
        "ticks": axis.ticks(),
        "axis_ms": axis.total_ms,
        "trace_hex": key.hex,
        "span_count": len(rows),
        "live": root["status"] == "in_progress" or not root.get("root_received", True),
    }


@router.get("/turns/{trace_id}", response_class=HTMLResponse)
async def turn_page(trace_id: str, request: Request, conn: ConnectionDep, settings: SettingsDep) -> Response:
    context = await _turn_context(request, conn, trace_id)
    selected = _param(request, "span")
    context["details"] = await _span_details(conn, context["root"], selected) if selected else None
    context["jaeger_url"] = settings.jaeger_trace_url(context["trace_hex"])
    context["project"] = views.project_of((context["root"].get("context") or {}).get("cwd"))
    return _render(request, "turn.html", context)


@router.get("/turns/{trace_id}/waterfall", response_class=HTMLResponse)
async def turn_waterfall(trace_id: str, request: Request, conn: ConnectionDep) -> Response:
    """The waterfall alone: a running turn's page polls this to grow without a reload."""
    return _render(request, "_waterfall.html", await _turn_context(request, conn, trace_id))


async def _span_details(conn: ConnectionDep, root: dict[str, Any], span_id: str) -> dict[str, Any]:
    row = browse.as_dict(await browse.span(conn, root["id"], span_id))
    if row is None:
        raise PageError(404, f"no span {span_id!r} in this turn")
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
    key = views.parse_trace_id(trace_id)
    root = browse.as_dict(await browse.turn(conn, key)) if key else None
    if root is None:
        raise PageError(404, f"no turn {trace_id!r}")
    details = await _span_details(conn, root, span_id)
    return _render(request, "_span_details.html", {"details": details, "root": root})


@router.get("/patterns", response_class=HTMLResponse)
async def patterns_page(request: Request, conn: ConnectionDep) -> Response:
    page = _int_param(request, "page", 1, 1, 1_000_000)
    status = _param(request, "status")
    if status not in (None, "active", "deprecated", "promoted"):
        raise PageError(400, "'status' must be active, deprecated or promoted")
    rows, total = await catalog_store.list_patterns(
        conn,
        file_path=None,
        language=_param(request, "language"),
        name=_param(request, "q"),
        pattern_type=None,
        status=status,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    context = {
        "patterns": [dict(r) for r in rows],
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "query": query,
        "q": _param(request, "q") or "",
        "status": status or "",
        "language": _param(request, "language") or "",
    }
    return _render(request, "patterns.html", context)


def _every_day(rows: list[dict[str, Any]], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """One entry per UTC day of [start, end): days without executions count 0 and have no rates."""
    by_day = {r["day"].date(): r for r in rows}
    day, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).astimezone(UTC).date()
    out = []
    while day <= last:
        out.append(by_day.get(day) or {"day": datetime(day.year, day.month, day.day), "executions": 0})
        day += timedelta(days=1)
    return out


def _pattern_charts(days: list[dict[str, Any]]) -> list[charts.Chart]:
    labels = [d["day"].strftime("%m-%d") for d in days]

    def column(name: str) -> list[float | None]:
        return [d.get(name) for d in days]

    return [
        charts.line_chart("Executions per day", labels, [("executions", column("executions"))]),
        charts.line_chart(
            "Success rate", labels, [("success rate", column("success_rate"))], unit="%", y_max=1.0
        ),
        charts.line_chart(
            "Latency",
            labels,
            [("p50", column("p50")), ("p95", column("p95")), ("p99", column("p99"))],
            unit="ms",
        ),
        charts.line_chart("Quality score", labels, [("quality", column("quality"))], y_max=1.0),
    ]


@router.get("/patterns/{pattern_id}", response_class=HTMLResponse)
async def pattern_page(
    pattern_id: str, request: Request, conn: ConnectionDep, settings: SettingsDep
) -> Response:
    """A pattern by id, or by its exact name (an ambiguous name is a page listing the candidates)."""
    try:
        resolved = await resolve_pattern_ref(conn, pattern_id)
    except ApiError as exc:
        raise PageError(exc.status_code if exc.status_code < 500 else 400, exc.message) from None
    if resolved != pattern_id:
        return RedirectResponse(f"/patterns/{quote(resolved, safe='')}", status_code=303)
    window = _param(request, "window") or "monthly"
    if window not in WINDOWS:
        raise PageError(400, "'window' must be weekly, monthly or quarterly")
    as_of = _as_of(request)
    versions = [dict(v) for v in await patterns_view.versions(conn, pattern_id)]
    if not versions:
        raise PageError(404, f"no pattern {pattern_id!r}")
    analytics = await compute_analytics(
        conn,
        AnalyticsRequest(pattern_id=pattern_id, time_window_type=window, as_of=as_of),
        default_min_sample_size=settings.analytics_min_sample_size,
    )
    start = analytics.time_window.start
    end = analytics.time_window.end
    days = _every_day([dict(d) for d in await patterns_view.daily(conn, pattern_id, start, end)], start, end)
    nodes, edges = await patterns_view.graph(conn, pattern_id)
    graph = lineage_graph.layout(
        [
            lineage_graph.GraphNode(
                str(n["id"]),
                n["pattern_id"],
                n["pattern_name"],
                n["pattern_version"],
                n["status"],
                n["pattern_id"] == pattern_id,
            )
            for n in nodes
        ],
        [
            lineage_graph.GraphEdge(str(e["source_node_id"]), str(e["target_node_id"]), e["edge_type"])
            for e in edges
        ],
    )
    try:
        feedback = await analyze(
            conn, FeedbackAnalyzeRequest(pattern_id=pattern_id, auto_apply=False, as_of=as_of)
        )
    except ApiError as exc:
        feedback = None
        feedback_error = exc.message
    else:
        feedback_error = None
    context = {
        "pattern_id": pattern_id,
        "latest": versions[-1],
        "versions": versions,
        "analytics": analytics,
        "days": days,
        "charts": _pattern_charts(days),
        "graph": graph,
        "feedback": feedback,
        "feedback_error": feedback_error,
        "window": window,
        "windows": list(WINDOWS),
        "as_of": as_of,
        "applied": _param(request, "applied"),
    }
    return _render(request, "pattern.html", context)


@router.post("/patterns/{pattern_id}/apply")
async def pattern_apply(pattern_id: str, request: Request, conn: ConnectionDep) -> Response:
    """Apply the feedback loop's validated improvements (the API's write rules apply)."""
    try:
        result = await apply_improvements(conn, pattern_id, [], force=False, settings=FeedbackSettings())
    except ApiError as exc:
        raise PageError(exc.status_code if exc.status_code < 500 else 400, exc.message) from None
    target = f"/patterns/{quote(pattern_id, safe='')}?applied={quote(result.promoted_version, safe='')}"
    return RedirectResponse(target, status_code=303)


@router.get("/overview", response_class=HTMLResponse)
async def overview_page(request: Request, conn: ConnectionDep) -> Response:
    days = _int_param(request, "days", 14, 1, 365)
    panels = await overview.panels(conn, now=_as_of(request), days=days)
    return _render(request, "overview.html", {"panels": panels, "days": days})


@router.get(auth.LOGIN_PATH, response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return _render(request, "login.html", {"next": _safe_next(_param(request, "next")), "failed": False})


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no //), so sign-in cannot redirect elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post(auth.LOGIN_PATH)
async def login(request: Request, settings: SettingsDep) -> Response:
    body = await request.body()
    if len(body) > 8192:
        raise PageError(400, "the sign-in form is larger than 8 KiB")
    form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    token = (form.get("token") or [""])[0]
    target = _safe_next((form.get("next") or ["/"])[0])
    expected = settings.access.token
    if expected is None:
        return RedirectResponse(target, status_code=303)
    if not auth.hmac.compare_digest(token.encode(), expected.encode()):
        return _render(request, "login.html", {"next": target, "failed": True}, status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        auth.COOKIE_NAME, auth.cookie_value(expected), httponly=True, samesite="strict", path="/"
    )
    return response
