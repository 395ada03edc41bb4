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
from traceability.lineage_api.store import sessions

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


# A pattern execution as JSON, ``x`` joined to its lineage node ``n``.
_EXECUTION_JSON = """json_build_object(
    'node_id', x.node_id, 'pattern_id', x.pattern_id, 'pattern_name', n.pattern_name,
    'pattern_version', n.pattern_version, 'tool_use_id', x.tool_use_id,
    'hook_execution_id', x.hook_execution_id, 'tool_name', x.tool_name, 'file_path', x.file_path,
    'executed_at', x.executed_at, 'duration_ms', x.duration_ms, 'success', x.success,
    'blocked', x.blocked, 'quality_score', x.quality_score)"""

# ``GET traces/{id}`` for a hook turn in one statement: the trace row of ``$1`` (its correlation id,
# else the turn Claude Code's own trace ``$1`` was joined to), its totals, how many hook executions
# it has, its pattern executions as JSON text and the merged timeline (``sessions.TIMELINE_OF_T``).
# Hundreds of rows are encoded by PostgreSQL and spliced into the answer: decoding them into Python
# and encoding them again cost more than the queries, and one round trip replaces five.
_MERGED_TURN_COLUMNS = f"""
{sessions.TURN_WITH_TOTALS},
       (SELECT count(*) FROM hook_executions he WHERE he.trace_id = r.id) AS hook_count,
       (SELECT coalesce(json_agg({_EXECUTION_JSON} ORDER BY x.executed_at, x.pattern_id), '[]')::text
        FROM pattern_executions x JOIN pattern_lineage_nodes n ON n.id = x.node_id
        WHERE x.trace_id = r.id) AS executions_json,
       ({sessions.TIMELINE_OF_T}) AS timeline_json"""  # noqa: S608 - constants
_MERGED_TURN_SQL = _MERGED_TURN_COLUMNS + "\nFROM r"
# ... and with ``?detail=full`` every column of every hook execution too (inputs, outputs, attributes).
_MERGED_TURN_FULL_SQL = f"""{_MERGED_TURN_COLUMNS},
       (SELECT coalesce(json_agg(he ORDER BY he.started_at, he.execution_order, he.span_id), '[]')::text
        FROM hook_executions he WHERE he.trace_id = r.id) AS hooks_json
FROM r"""  # noqa: S608 - constants

_JSON_COLUMNS = ("totals", "hook_count", "executions_json", "timeline_json", "hooks_json")


async def merged_turn(conn: asyncpg.Connection, trace_id: uuid.UUID, *, full: bool) -> dict[str, Any] | None:
    """The hook turn ``trace_id`` names, as ``{"trace": row, "totals": ..., "hook_count": n,
    "executions_json": text, "timeline_json": text}`` and, when ``full``, ``"hooks_json"`` (every
    hook execution, every column); None when no hook turn has it."""
    row = await conn.fetchrow(_MERGED_TURN_FULL_SQL if full else _MERGED_TURN_SQL, trace_id)
    if row is None:
        return None
    found = dict(row)
    out = {key: found.pop(key) for key in _JSON_COLUMNS if key in found}
    return {"trace": found, **out}


# One span of the turn ``$1`` names (``sessions.TURN_R``; a Claude Code trace id without a hook turn
# names its own spans), by span id ``$2``: a hook span (every column of its row, and the pattern
# executions it caused) before a Claude Code span of the turn's native trace (every column).
_SPAN_SQL = f"""
WITH {sessions.TURN_R},
hook AS (
    SELECT he.* FROM r JOIN hook_executions he ON he.trace_id = r.id
    WHERE he.span_id = $2 ORDER BY he.started_at, he.execution_order LIMIT 1
)
(SELECT 'turn' AS origin, r.id AS turn_id, row_to_json(r)::text AS span_json, '[]' AS executions_json
 FROM r WHERE r.root_span_id = $2)
UNION ALL
SELECT 'hooks', (SELECT id FROM r), row_to_json(hook)::text,
       (SELECT coalesce(json_agg({_EXECUTION_JSON} ORDER BY x.executed_at, x.pattern_id), '[]')::text
        FROM pattern_executions x JOIN pattern_lineage_nodes n ON n.id = x.node_id
        WHERE x.hook_execution_id = hook.id) AS executions_json
FROM hook
UNION ALL
(SELECT 'native', (SELECT id FROM r), row_to_json(sp)::text, '[]'
 FROM claude_code_spans sp
 WHERE sp.trace_id = CASE WHEN EXISTS (SELECT 1 FROM r) THEN (SELECT native_trace_id FROM r) ELSE $1 END
   AND sp.span_id = $2
 ORDER BY sp.started_at LIMIT 1)
LIMIT 1
"""  # noqa: S608 - constants


async def span(conn: asyncpg.Connection, trace_id: uuid.UUID, span_id: str) -> dict[str, Any] | None:
    """Span ``span_id`` of the turn ``trace_id`` names, as ``{"origin": "turn" (the turn's own root
    span: its execution_traces row) | "hooks" | "native", "turn_id":
    the hook turn's id (None for a Claude Code trace without one), "span_json": text,
    "executions_json": text}``; None when the turn has no such span."""
    row = await conn.fetchrow(_SPAN_SQL, trace_id, span_id)
    return dict(row) if row is not None else None
