"""Finding traces: one row per trace (a prompt turn, or a session's events outside turns), newest first.

Filters left out are ``NULL`` parameters. The session filter compares the UUID ingest stored
(``exporter.storage.values.session_uuid`` of what Claude Code sent), so it uses the session index.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from traceability.instrumentation import semconv

_FILTER = """
    ($1::uuid IS NULL OR et.session_id = $1::uuid)
    AND ($2::text IS NULL OR et.prompt_id = $2::text)
    AND ($3::text IS NULL OR et.prompt_text ILIKE '%' || $3::text || '%')
    AND ($4::text IS NULL OR et.span_name = $4::text)
    AND ($5::text IS NULL OR et.status = $5::text)
    AND ($6::timestamptz IS NULL OR et.started_at >= $6::timestamptz)
    AND ($7::timestamptz IS NULL OR et.started_at < $7::timestamptz)
"""

LIST_SQL = f"""
SELECT et.correlation_id, et.otel_trace_id, et.span_name, coalesce(et.session_key, et.session_id::text) AS session_id,
       et.prompt_id, left(et.prompt_text, $8::int) AS prompt, et.started_at, et.completed_at, et.duration_ms,
       et.status, et.success,
       (SELECT count(*) FROM hook_executions he WHERE he.trace_id = et.id AND he.span_type = $9::text) AS tool_calls,
       (SELECT count(*) FROM hook_executions he WHERE he.trace_id = et.id AND he.success IS FALSE) AS failed_spans,
       count(*) OVER () AS total
FROM execution_traces et
WHERE {_FILTER}
ORDER BY et.started_at DESC, et.id
LIMIT $10 OFFSET $11
"""  # noqa: S608 - the filter is a constant

PROMPT_CHARS = 200  # of the captured prompt, per row

KINDS = {"turn": semconv.SPAN_NAME_TURN, "session": semconv.SPAN_NAME_SESSION}


@dataclass(frozen=True)
class TraceFilter:
    session_id: uuid.UUID | None = None  # as stored (see the module docstring)
    prompt_id: str | None = None
    prompt_contains: str | None = None  # a case-insensitive substring of the captured prompt
    kind: str | None = None  # a key of KINDS
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def args(self) -> tuple[Any, ...]:
        like = self.prompt_contains
        escaped = like.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") if like else None
        return (
            self.session_id,
            self.prompt_id,
            escaped,
            KINDS[self.kind] if self.kind else None,
            self.status,
            self.since,
            self.until,
        )


async def list_traces(
    conn: asyncpg.Connection, flt: TraceFilter, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of traces, newest first, and how many match in all."""
    rows = await conn.fetch(LIST_SQL, *flt.args(), PROMPT_CHARS, semconv.SPAN_TYPE_TOOL, limit, offset)
    total = rows[0]["total"] if rows else 0
    if not rows and offset > 0:  # past the end: still say how many there are
        total = await conn.fetchval(
            f"SELECT count(*) FROM execution_traces et WHERE {_FILTER}",  # noqa: S608 - constant
            *flt.args(),
        )
    return [{k: v for k, v in dict(r).items() if k != "total"} for r in rows], int(total)
