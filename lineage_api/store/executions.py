"""Execution logs and summaries: hook_executions joined to their trace (execution_traces).

One filter set for both: correlation id (the trace), session id (as Claude Code sent it), hook
(event type or hook name), tool, status, agent name (subagent type) and a time range on the
hook's start. Filters left out are ``NULL`` parameters; each statement runs with a custom plan
(``store.snapshot.read_snapshot``), so the ones given use their indexes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, cast

import asyncpg

from traceability.instrumentation import semconv
from traceability.lineage_api.store.rows import row_as

_FILTER = """
    ($1::uuid IS NULL OR he.trace_id = $1::uuid)
    AND ($2::text IS NULL OR he.session_id = $2::text)
    AND ($3::text IS NULL OR he.hook_type = $3::text OR he.hook_name = $3::text)
    AND ($4::text IS NULL OR he.tool_name = $4::text)
    AND ($5::text IS NULL OR he.status = $5::text)
    AND ($6::text IS NULL OR he.attributes ->> $7::text = $6::text)
    AND ($8::timestamptz IS NULL OR he.started_at >= $8::timestamptz)
    AND ($9::timestamptz IS NULL OR he.started_at < $9::timestamptz)
"""

LOGS_SQL = f"""
SELECT he.id, he.trace_id AS correlation_id, et.otel_trace_id, he.span_id, he.parent_span_id,
       he.session_id, et.user_id, he.prompt_id, he.hook_type, he.hook_name, he.span_type,
       he.execution_order, he.tool_name, he.tool_use_id, he.file_path, he.status, he.success,
       he.started_at, he.completed_at, he.duration_ms, he.tool_duration_ms, he.quality_score,
       he.error_type, he.error_message, he.attributes ->> $7::text AS agent_name,
       count(*) OVER () AS total
FROM hook_executions he
JOIN execution_traces et ON et.id = he.trace_id
WHERE {_FILTER}
ORDER BY he.started_at DESC, he.id
LIMIT $10 OFFSET $11
"""  # noqa: S608 - the filter is a constant

SUMMARY_SQL = f"""
WITH f AS MATERIALIZED (
    SELECT he.trace_id, he.hook_type, he.tool_name, he.status, he.success, he.started_at,
           he.duration_ms, he.tool_duration_ms
    FROM hook_executions he
    WHERE {_FILTER}
)
SELECT
    (SELECT count(*) FROM f) AS executions,
    (SELECT count(DISTINCT trace_id) FROM f) AS traces,
    (SELECT count(*) FILTER (WHERE success IS TRUE) FROM f) AS successes,
    (SELECT count(*) FILTER (WHERE success IS FALSE) FROM f) AS failures,
    (SELECT min(started_at) FROM f) AS first_started_at,
    (SELECT max(started_at) FROM f) AS last_started_at,
    (SELECT avg(duration_ms)::float8 FROM f) AS avg_duration_ms,
    (SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) FROM f)
        AS duration_percentiles,
    (SELECT coalesce(jsonb_object_agg(status, c), '{{}}'::jsonb)
     FROM (SELECT status, count(*) AS c FROM f GROUP BY status) s) AS by_status,
    (SELECT coalesce(jsonb_agg(h ORDER BY h.executions DESC, h.hook_type), '[]'::jsonb) FROM (
        SELECT hook_type, count(*) AS executions,
               count(*) FILTER (WHERE success IS FALSE) AS failures,
               avg(duration_ms)::float8 AS avg_duration_ms,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_duration_ms
        FROM f GROUP BY hook_type) h) AS by_hook,
    (SELECT coalesce(jsonb_agg(t ORDER BY t.executions DESC, t.tool_name), '[]'::jsonb) FROM (
        SELECT tool_name, count(*) AS executions,
               count(*) FILTER (WHERE success IS FALSE) AS failures,
               avg(tool_duration_ms)::float8 AS avg_tool_duration_ms,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY tool_duration_ms) AS p95_tool_duration_ms
        FROM f WHERE tool_name IS NOT NULL GROUP BY tool_name) t) AS by_tool,
    (SELECT coalesce(jsonb_object_agg(status, c), '{{}}'::jsonb) FROM (
        SELECT et.status, count(*) AS c FROM execution_traces et
        WHERE et.id IN (SELECT trace_id FROM f) GROUP BY et.status) s) AS traces_by_status
"""  # noqa: S608 - the filter is a constant


@dataclass(frozen=True)
class ExecutionFilter:
    correlation_id: uuid.UUID | None = None
    session_id: str | None = None
    hook: str | None = None
    tool: str | None = None
    status: str | None = None
    agent_name: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def args(self) -> tuple[Any, ...]:
        return (
            self.correlation_id,
            self.session_id,
            self.hook,
            self.tool,
            self.status,
            self.agent_name,
            semconv.GEN_AI_AGENT_NAME,
            self.since,
            self.until,
        )


class HookExecutionLog(TypedDict):
    """One hook execution with its trace's ids and user (a row of ``LOGS_SQL``)."""

    id: uuid.UUID
    correlation_id: uuid.UUID
    otel_trace_id: str | None
    span_id: str | None
    parent_span_id: str | None
    session_id: str | None
    user_id: str | None
    prompt_id: str | None
    hook_type: str | None
    hook_name: str | None
    span_type: str | None
    execution_order: int | None
    tool_name: str | None
    tool_use_id: str | None
    file_path: str | None
    status: str | None
    success: bool | None
    started_at: datetime | None
    completed_at: datetime | None
    duration_ms: float | None
    tool_duration_ms: float | None
    quality_score: float | None
    error_type: str | None
    error_message: str | None
    agent_name: str | None


@dataclass(frozen=True)
class ExecutionSummary:
    """Counts, rates and latencies of the matching hook executions (a row of ``SUMMARY_SQL``)."""

    executions: int
    traces: int
    successes: int
    failures: int
    first_started_at: datetime | None
    last_started_at: datetime | None
    avg_duration_ms: float | None
    duration_percentiles: list[float] | None  # p50, p95, p99
    by_status: dict[str, int]
    by_hook: list[dict[str, Any]]
    by_tool: list[dict[str, Any]]
    traces_by_status: dict[str, int]


async def fetch_logs(
    conn: asyncpg.Connection, flt: ExecutionFilter, limit: int, offset: int
) -> tuple[list[HookExecutionLog], int]:
    """One page of hook executions, newest first, and how many match in all."""
    rows = await conn.fetch(LOGS_SQL, *flt.args(), limit, offset)
    total = rows[0]["total"] if rows else 0
    if not rows and offset > 0:  # past the end: still say how many there are
        total = await conn.fetchval(
            f"SELECT count(*) FROM hook_executions he WHERE {_FILTER}",  # noqa: S608 - constant
            *flt.args(),
        )
    logs = [cast(HookExecutionLog, {k: v for k, v in r.items() if k != "total"}) for r in rows]
    return logs, int(total)


async def fetch_summary(conn: asyncpg.Connection, flt: ExecutionFilter) -> ExecutionSummary:
    return row_as(ExecutionSummary, await conn.fetchrow(SUMMARY_SQL, *flt.args()))
