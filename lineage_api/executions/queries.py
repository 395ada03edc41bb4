"""Execution logs and summaries: hook_executions joined to their trace (execution_traces).

One filter set for both: correlation id (the trace), session id (as Claude Code sent it), hook
(event type or hook name), tool, status, agent name (subagent type) and a time range on the
hook's start. Filters left out are ``NULL`` parameters; each statement runs with a custom plan
(``read_snapshot``), so the ones given use their indexes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from traceability.instrumentation import semconv

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


async def fetch_logs(
    conn: asyncpg.Connection, flt: ExecutionFilter, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of hook executions, newest first, and how many match in all."""
    rows = await conn.fetch(LOGS_SQL, *flt.args(), limit, offset)
    total = rows[0]["total"] if rows else 0
    if not rows and offset > 0:  # past the end: still say how many there are
        total = await conn.fetchval(
            f"SELECT count(*) FROM hook_executions he WHERE {_FILTER}",  # noqa: S608 - constant
            *flt.args(),
        )
    return [{k: v for k, v in dict(r).items() if k != "total"} for r in rows], int(total)


async def fetch_summary(conn: asyncpg.Connection, flt: ExecutionFilter) -> dict[str, Any]:
    row = await conn.fetchrow(SUMMARY_SQL, *flt.args())
    assert row is not None
    return dict(row)
