"""Pattern pages: the searchable list, and one pattern with its lineage graph, analytics and feedback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from traceability.lineage_api.analytics.compute import compute_analytics
from traceability.lineage_api.analytics.models import AnalyticsRequest
from traceability.lineage_api.analytics.windows import WindowType
from traceability.lineage_api.dependencies import ConnectionDep, SettingsDep
from traceability.lineage_api.errors import as_api_error
from traceability.lineage_api.feedback.analyze import analyze, apply_improvements
from traceability.lineage_api.feedback.models import (
    FeedbackAnalyzeRequest,
    FeedbackLoopOutput,
    FeedbackSettings,
)
from traceability.lineage_api.names import resolve_pattern_ref
from traceability.lineage_api.store import catalog as catalog_store
from traceability.lineage_api.store import patterns_view
from traceability.lineage_api.store.errors import DomainError
from traceability.lineage_api.ui import charts, lineage_graph
from traceability.lineage_api.ui.rendering import PAGE_SIZE, PageError, as_of, int_param, param, render

WINDOWS: dict[str, WindowType] = {"weekly": "weekly", "monthly": "monthly", "quarterly": "quarterly"}

router = APIRouter(include_in_schema=False)


@router.get("/patterns", response_class=HTMLResponse)
async def patterns_page(request: Request, conn: ConnectionDep) -> Response:
    page = int_param(request, "page", 1, 1, 1_000_000)
    status = param(request, "status")
    if status not in (None, "active", "deprecated", "promoted"):
        raise PageError(400, "'status' must be active, deprecated or promoted")
    rows, total = await catalog_store.list_patterns(
        conn,
        file_path=None,
        language=param(request, "language"),
        name=param(request, "q"),
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
        "q": param(request, "q") or "",
        "status": status or "",
        "language": param(request, "language") or "",
    }
    return render(request, "patterns.html", context)


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
    except DomainError as exc:
        raise PageError(as_api_error(exc).status_code, exc.message) from None
    if resolved != pattern_id:
        return RedirectResponse(f"/patterns/{quote(resolved, safe='')}", status_code=303)
    window = WINDOWS.get(param(request, "window") or "monthly")
    if window is None:
        raise PageError(400, "'window' must be weekly, monthly or quarterly")
    window_end = as_of(request)
    versions = [dict(v) for v in await patterns_view.versions(conn, pattern_id)]
    if not versions:
        raise PageError(404, f"no pattern {pattern_id!r}")
    analytics = await compute_analytics(
        conn,
        AnalyticsRequest(pattern_id=pattern_id, time_window_type=window, as_of=window_end),
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
    feedback: FeedbackLoopOutput | None
    feedback_error: str | None
    try:
        feedback = await analyze(
            conn, FeedbackAnalyzeRequest(pattern_id=pattern_id, auto_apply=False, as_of=window_end)
        )
    except DomainError as exc:
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
        "as_of": window_end,
        "applied": param(request, "applied"),
    }
    return render(request, "pattern.html", context)


@router.post("/patterns/{pattern_id}/apply")
async def pattern_apply(pattern_id: str, request: Request, conn: ConnectionDep) -> Response:
    """Apply the feedback loop's validated improvements (the API's write rules apply)."""
    try:
        result = await apply_improvements(conn, pattern_id, [], force=False, settings=FeedbackSettings())
    except DomainError as exc:
        raise PageError(as_api_error(exc).status_code, exc.message) from None
    target = f"/patterns/{quote(pattern_id, safe='')}?applied={quote(result.promoted_version, safe='')}"
    return RedirectResponse(target, status_code=303)
