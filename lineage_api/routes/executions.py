"""Execution routes: logs (filtered, paginated) and a summary, over hook_executions and execution_traces."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from traceability.lineage_api.dependencies import ConnectionDep
from traceability.lineage_api.errors import BadRequest, processing_time_ms
from traceability.lineage_api.models import Envelope
from traceability.lineage_api.store.executions import ExecutionFilter, fetch_logs, fetch_summary
from traceability.lineage_api.store.snapshot import read_snapshot

router = APIRouter(tags=["executions"])
MAX_LIMIT = 200


def _filter(
    correlation_id: Annotated[
        uuid.UUID | None, Query(description="the trace (= OTel trace id as a UUID)")
    ] = None,
    session_id: Annotated[str | None, Query(description="Claude Code's session id")] = None,
    hook: Annotated[str | None, Query(description="hook event type (e.g. PreToolUse) or hook name")] = None,
    tool: Annotated[str | None, Query(description="tool name (e.g. Write)")] = None,
    status: Annotated[
        str | None, Query(description="completed | failed | blocked | in_progress | ...")
    ] = None,
    agent_name: Annotated[str | None, Query(description="subagent type")] = None,
    since: Annotated[datetime | None, Query(description="started at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="started before (ISO 8601)")] = None,
) -> ExecutionFilter:
    if since is not None and until is not None and since >= until:
        raise BadRequest(f"since ({since.isoformat()}) must be before until ({until.isoformat()})")
    return ExecutionFilter(correlation_id, session_id, hook, tool, status, agent_name, since, until)


FilterDep = Annotated[ExecutionFilter, Depends(_filter)]


@router.get(
    "/executions/logs", response_model=Envelope[dict[str, Any]], summary="Hook executions, newest first"
)
async def logs(
    conn: ConnectionDep,
    request: Request,
    flt: FilterDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Envelope[dict[str, Any]]:
    async with read_snapshot(conn):
        rows, total = await fetch_logs(conn, flt, limit, offset)
    next_offset = offset + len(rows) if offset + len(rows) < total else None
    return Envelope(
        data={"logs": rows, "total": total, "limit": limit, "offset": offset, "next_offset": next_offset},
        metadata={"processing_time_ms": processing_time_ms(request)},
    )


@router.get(
    "/executions/summary", response_model=Envelope[dict[str, Any]], summary="Counts, rates and latencies"
)
async def summary(
    conn: ConnectionDep,
    request: Request,
    flt: FilterDep,
) -> Envelope[dict[str, Any]]:
    async with read_snapshot(conn):
        row = await fetch_summary(conn, flt)
    executions = row.executions
    p50, p95, p99 = row.duration_percentiles or (None, None, None)
    data = {
        "total_executions": executions,
        "total_traces": row.traces,
        "successful_executions": row.successes,
        "failed_executions": row.failures,
        "success_rate": row.successes / executions if executions else 0.0,
        "by_status": row.by_status,
        "traces_by_status": row.traces_by_status,
        "duration_ms": {"avg": row.avg_duration_ms, "p50": p50, "p95": p95, "p99": p99},
        "by_hook": row.by_hook,
        "by_tool": row.by_tool,
        "first_started_at": row.first_started_at,
        "last_started_at": row.last_started_at,
    }
    return Envelope(data=data, metadata={"processing_time_ms": processing_time_ms(request)})
