"""Sessions and turns with Claude Code's own telemetry merged in: totals, turn lists, the merged timeline.

A turn is a hook turn (an ``execution_traces`` row other than a session's own row), or a native
``claude_code.interaction`` whose hook turn never arrived (no ``execution_traces`` row records its
trace id). Totals come from the ``api_request`` / ``api_error`` / ``hook_execution_complete`` events
of the turn's prompt and from its native spans; without native spans, tool time is the hook tool
spans' and hook time the hook spans'. A session's totals are the sums over its turns.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from traceability.exporter.storage.values import session_uuid
from traceability.instrumentation import semconv as sc

TOTAL_KEYS = (
    "llm_calls", "api_errors", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens",
    "cost_usd", "model_ms", "tool_ms", "permission_wait_ms", "hook_ms",
)  # fmt: skip

# The totals of each turn of a CTE ``t(turn_id, prompt_id, native_trace_id)`` given before it
# (also read by ``browse.turn_page``, which returns a turn with its totals in one statement).
TOTALS_OF_T = f"""
SELECT t.turn_id, e.events + s.spans > 0 AS has_telemetry, e.llm_calls, e.api_errors, e.input_tokens, e.output_tokens, e.cache_read_tokens,
       e.cache_creation_tokens, e.cost_usd, e.models, e.model_ms,
       CASE WHEN s.executions > 0 THEN s.tool_ms ELSE h.tool_ms END AS tool_ms,
       s.permission_wait_ms,
       CASE WHEN e.hook_events > 0 THEN e.hook_ms ELSE h.hook_ms END AS hook_ms
FROM t
CROSS JOIN LATERAL (
    SELECT count(*) AS events, count(*) FILTER (WHERE event_name = '{sc.CC_EVENT_API_REQUEST}') AS llm_calls,
           count(*) FILTER (WHERE event_name = '{sc.CC_EVENT_API_ERROR}') AS api_errors,
           coalesce(sum(input_tokens) FILTER (WHERE event_name = '{sc.CC_EVENT_API_REQUEST}'), 0) AS input_tokens,
           coalesce(sum(output_tokens) FILTER (WHERE event_name = '{sc.CC_EVENT_API_REQUEST}'), 0) AS output_tokens,
           coalesce(sum(cache_read_tokens) FILTER (WHERE event_name = '{sc.CC_EVENT_API_REQUEST}'), 0)
               AS cache_read_tokens,
           coalesce(sum(cache_creation_tokens) FILTER (WHERE event_name = '{sc.CC_EVENT_API_REQUEST}'), 0)
               AS cache_creation_tokens,
           coalesce(sum(cost_usd) FILTER (WHERE event_name = '{sc.CC_EVENT_API_REQUEST}'), 0)::float8 AS cost_usd,
           coalesce(array_agg(DISTINCT model ORDER BY model)
                    FILTER (WHERE event_name = '{sc.CC_EVENT_API_REQUEST}' AND model IS NOT NULL), '{{}}') AS models,
           coalesce(sum(duration_ms) FILTER (
               WHERE event_name IN ('{sc.CC_EVENT_API_REQUEST}', '{sc.CC_EVENT_API_ERROR}')), 0)::float8 AS model_ms,
           count(*) FILTER (WHERE event_name = '{sc.CC_EVENT_HOOK_EXECUTION_COMPLETE}') AS hook_events,
           coalesce(sum(hook_total_duration_ms)
                    FILTER (WHERE event_name = '{sc.CC_EVENT_HOOK_EXECUTION_COMPLETE}'), 0)::float8 AS hook_ms
    FROM claude_code_events ev WHERE ev.prompt_id = t.prompt_id
) e
CROSS JOIN LATERAL (
    SELECT count(*) AS spans, count(*) FILTER (WHERE span_type = '{sc.CC_SPAN_TOOL_EXECUTION}') AS executions,
           coalesce(sum(duration_ms) FILTER (WHERE span_type = '{sc.CC_SPAN_TOOL_EXECUTION}'), 0)::float8 AS tool_ms,
           coalesce(sum(duration_ms) FILTER (WHERE span_type = '{sc.CC_SPAN_BLOCKED_ON_USER}'), 0)::float8
               AS permission_wait_ms
    FROM claude_code_spans sp WHERE sp.trace_id = t.native_trace_id
) s
CROSS JOIN LATERAL (
    SELECT coalesce(sum(coalesce(tool_duration_ms, duration_ms)) FILTER (WHERE span_type = '{sc.SPAN_TYPE_TOOL}'), 0)::float8
               AS tool_ms,
           coalesce(sum(duration_ms) FILTER (WHERE span_type = '{sc.SPAN_TYPE_HOOK}'), 0)::float8 AS hook_ms
    FROM hook_executions he WHERE he.trace_id = t.turn_id
) h
"""  # noqa: S608 - constants of semconv

# The turn ``$1`` names (its hook trace id, or the Claude Code trace id joined to it): a CTE ``r``.
TURN_R = """r AS (
    (SELECT * FROM execution_traces WHERE correlation_id = $1 LIMIT 1)
    UNION ALL
    (SELECT * FROM execution_traces WHERE native_trace_id = $1 LIMIT 1)
    LIMIT 1
)"""

# The turn ``$1`` names as ``r`` (``TURN_R``), with its totals as one jsonb column ``totals``;
# callers add columns and joins after it.
TURN_WITH_TOTALS = f"""WITH {TURN_R}, t AS (SELECT id AS turn_id, prompt_id, native_trace_id FROM r),
totals AS ({TOTALS_OF_T})
SELECT r.*, (SELECT to_jsonb(totals) - 'turn_id' - 'has_telemetry' FROM totals) AS totals"""  # noqa: S608 - constants

_TURN_TOTALS_SQL = f"""
WITH t AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS t(turn_id, prompt_id, native_trace_id))
{TOTALS_OF_T}"""  # noqa: S608 - constants

# The turns in which a pattern's executions in [$2, $3) happened ($1 the pattern id), and their
# native totals summed: what writing the pattern cost.
_PATTERN_TURNS_SQL = f"""
WITH t AS (
    SELECT DISTINCT et.id AS turn_id, et.prompt_id, et.native_trace_id
    FROM pattern_executions x JOIN execution_traces et ON et.id = x.trace_id
    WHERE x.pattern_id = $1 AND x.executed_at >= $2 AND x.executed_at < $3
), per_turn AS ({TOTALS_OF_T})
SELECT count(*) AS turns, count(*) FILTER (WHERE has_telemetry) AS turns_with_telemetry,
       coalesce(sum(llm_calls), 0)::bigint AS llm_calls, coalesce(sum(api_errors), 0)::bigint AS api_errors,
       coalesce(sum(input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(cache_read_tokens), 0)::bigint AS cache_read_tokens,
       coalesce(sum(cache_creation_tokens), 0)::bigint AS cache_creation_tokens,
       coalesce(sum(cost_usd), 0)::float8 AS cost_usd,
       coalesce((SELECT array_agg(DISTINCT m ORDER BY m) FROM per_turn, unnest(models) AS m), '{{}}') AS models
FROM per_turn
"""  # noqa: S608 - constants

# The turns of sessions $1 (their uuids, as execution_traces stores them) / $2 (the raw ids, as the
# native spans carry them), each with ``session_key``, the raw id
_SESSION_TURNS_SQL = f"""
SELECT * FROM (
    SELECT coalesce(et.session_key, et.session_id::text) AS session_key, et.id AS turn_id, 'hooks' AS origin, et.prompt_id, et.native_trace_id, et.started_at, et.completed_at,
           et.duration_ms::float8 AS duration_ms, et.status, et.success
    FROM execution_traces et
    WHERE et.session_id = ANY($1::uuid[]) AND et.span_name IS DISTINCT FROM '{sc.SPAN_NAME_SESSION}'
      AND (et.root_received OR et.prompt_id IS NOT NULL)
    UNION ALL
    SELECT sp.session_id, sp.trace_id, 'native', l.prompt_id, sp.trace_id, sp.started_at, sp.completed_at, sp.duration_ms,
           CASE WHEN sp.status_code = 'ERROR' THEN '{sc.TRACE_STATUS_FAILED}' ELSE '{sc.TRACE_STATUS_COMPLETED}' END,
           sp.status_code IS DISTINCT FROM 'ERROR'
    FROM claude_code_spans sp LEFT JOIN claude_code_trace_links l ON l.native_trace_id = sp.trace_id
    WHERE sp.session_id = ANY($2::text[]) AND sp.span_type = '{sc.CC_SPAN_INTERACTION}'
      AND NOT EXISTS (SELECT 1 FROM execution_traces t WHERE t.native_trace_id = sp.trace_id)
) turns ORDER BY started_at, turn_id
"""  # noqa: S608

_SESSION_TURNS_TOTALS_SQL = f"""
WITH turns AS ({_SESSION_TURNS_SQL}), t AS (SELECT turn_id, prompt_id, native_trace_id FROM turns),
totals AS ({TOTALS_OF_T})
SELECT turns.*, {", ".join("totals." + k for k in TOTAL_KEYS)}, totals.models
FROM turns JOIN totals USING (turn_id) ORDER BY turns.started_at, turns.turn_id
"""  # noqa: S608 - constants

# One row per session: its hook traces and its native-only interactions; $1/$2 time range on the
# last activity, $3 user id, $4 limit, $5 offset.
_SESSIONS_SQL = f"""
WITH parts AS (
    SELECT coalesce(et.session_key, et.session_id::text) AS session_id, et.started_at AS first_at,
           coalesce(et.completed_at, et.started_at) AS last_at,
           (et.span_name IS DISTINCT FROM '{sc.SPAN_NAME_SESSION}'
            AND (et.root_received OR et.prompt_id IS NOT NULL))::int AS turns,
           et.user_id, et.native_trace_id IS NOT NULL AS native
    FROM execution_traces et
    UNION ALL
    SELECT sp.session_id, sp.started_at, sp.completed_at, 1, NULL, TRUE
    FROM claude_code_spans sp
    WHERE sp.span_type = '{sc.CC_SPAN_INTERACTION}' AND sp.session_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM execution_traces t WHERE t.native_trace_id = sp.trace_id)
), sessions AS (
    SELECT session_id, min(first_at) AS started_at, max(last_at) AS last_activity_at, sum(turns)::int AS turns,
           max(user_id) AS user_id, bool_or(native) AS has_native_telemetry
    FROM parts GROUP BY session_id
)
SELECT *, count(*) OVER () AS total FROM sessions
WHERE ($1::timestamptz IS NULL OR last_activity_at >= $1) AND ($2::timestamptz IS NULL OR last_activity_at < $2)
  AND ($3::text IS NULL OR user_id = $3)
ORDER BY last_activity_at DESC, session_id
LIMIT $4 OFFSET $5
"""  # noqa: S608


def _empty_totals() -> dict[str, Any]:
    return {**dict.fromkeys(TOTAL_KEYS, 0), "cost_usd": 0.0, "models": []}


async def turn_totals(
    conn: asyncpg.Connection, turns: list[dict[str, Any]]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Totals per turn (keyed by turn id) for turns with turn_id, prompt_id and native_trace_id."""
    if not turns:
        return {}
    rows = await conn.fetch(
        _TURN_TOTALS_SQL,
        [t["turn_id"] for t in turns],
        [t["prompt_id"] for t in turns],
        [t["native_trace_id"] for t in turns],
    )
    out = {}
    for row in rows:
        totals = {k: row[k] for k in TOTAL_KEYS}
        totals["models"] = list(row["models"])
        out[row["turn_id"]] = totals
    return out


async def pattern_turn_totals(
    conn: asyncpg.Connection, pattern_id: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """The distinct turns of ``pattern_id``'s executions in [start, end), how many of them have
    Claude Code's own telemetry, and their LLM calls, tokens by kind, cost and models summed."""
    row = await conn.fetchrow(_PATTERN_TURNS_SQL, pattern_id, start, end)
    assert row is not None
    return {**dict(row), "models": list(row["models"])}


def sum_totals(parts: list[dict[str, Any]]) -> dict[str, Any]:
    total = _empty_totals()
    models: set[str] = set()
    for part in parts:
        for key in TOTAL_KEYS:
            total[key] += part[key]
        models.update(part["models"])
    total["models"] = sorted(models)
    return total


async def turns_of_sessions(
    conn: asyncpg.Connection, session_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Per raw session id: its turns in time order, each with its totals (one statement for all)."""
    uuids = [session_uuid(s)[0] for s in session_ids]
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in session_ids}
    for record in await conn.fetch(_SESSION_TURNS_TOTALS_SQL, uuids, session_ids):
        row = dict(record)
        row["totals"] = {k: row.pop(k) for k in TOTAL_KEYS}
        row["totals"]["models"] = list(row.pop("models"))
        out.setdefault(row.pop("session_key"), []).append(row)
    return out


async def session_turns(conn: asyncpg.Connection, session_id: str) -> list[dict[str, Any]]:
    """The session's turns in time order, each with its totals."""
    return (await turns_of_sessions(conn, [session_id]))[session_id]


async def list_sessions(
    conn: asyncpg.Connection,
    *,
    since: datetime | None,
    until: datetime | None,
    user_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of sessions, newest activity first, with their totals; and how many match."""
    args = (since, until, user_id)
    rows = await conn.fetch(_SESSIONS_SQL, *args, limit, offset)
    if rows:
        total = int(rows[0]["total"])
    elif offset > 0:
        first = await conn.fetch(_SESSIONS_SQL, *args, 1, 0)
        total = int(first[0]["total"]) if first else 0
    else:
        total = 0
    sessions = []
    turns_of = await turns_of_sessions(conn, [row["session_id"] for row in rows])
    for row in rows:
        turns = turns_of[row["session_id"]]
        item = {k: v for k, v in dict(row).items() if k != "total"}
        item["totals"] = sum_totals([t["totals"] for t in turns])
        sessions.append(item)
    return sessions, total


# The merged timeline of the turn of a CTE ``t(turn_id, native_trace_id, prompt_id)`` given before it
# (the hook spans' trace row, its native trace id, its prompt id). One JSON array built by PostgreSQL
# in time order, the items shaped as ``models.TimelineItem``: decoding ~500 rows (details, timestamps)
# and re-encoding them in Python cost more than the query. Each item and its details are rows
# (``i``, ``d``) encoded whole, as ``json``: measured, half the time of ``json_build_object`` per
# item, and compact (no blanks after colons and commas). Times are UTC with microseconds, fixed width, so they
# also sort as text.
_ISO_UTC = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
TIMELINE_OF_T = f"""
SELECT coalesce(json_agg(i ORDER BY s.time, s.origin, s.span_id NULLS FIRST, s.name), '[]')::text
FROM (
    SELECT 'hooks' AS origin, he.started_at AS time, he.completed_at AS end_time, he.span_name AS name,
           coalesce(he.span_type, he.hook_type) AS kind, he.span_id, he.parent_span_id, he.tool_use_id,
           NULL::text AS joined_span_id, he.duration_ms::float8 AS duration_ms, he.status,
           json_strip_nulls(row_to_json(d)) AS details
    FROM hook_executions he
    CROSS JOIN LATERAL (SELECT he.hook_type, he.tool_name, he.file_path, he.error_message) d
    WHERE he.trace_id = (SELECT turn_id FROM t)
    UNION ALL
    SELECT 'native', sp.started_at, sp.completed_at, sp.name, sp.span_type, sp.span_id, sp.parent_span_id,
           coalesce(sp.tool_use_id, parent.tool_use_id),
           joined.span_id,
           sp.duration_ms,
           CASE WHEN sp.status_code = 'ERROR' THEN '{sc.STATUS_FAILED}' ELSE '{sc.STATUS_COMPLETED}' END,
           json_strip_nulls(row_to_json(d))
    FROM claude_code_spans sp
    CROSS JOIN LATERAL (
        SELECT sp.tool_name, sp.model, sp.input_tokens, sp.output_tokens, sp.cache_read_tokens,
               sp.cache_creation_tokens, sp.request_id, sp.ttft_ms, sp.decision, sp.decision_source,
               sp.status_message
    ) d
    LEFT JOIN claude_code_spans parent ON parent.trace_id = sp.trace_id AND parent.span_id = sp.parent_span_id
    LEFT JOIN (SELECT DISTINCT ON (tool_use_id) tool_use_id, span_id FROM hook_executions
               WHERE trace_id = (SELECT turn_id FROM t) AND span_type = '{sc.SPAN_TYPE_TOOL}'
                 AND tool_use_id IS NOT NULL
               ORDER BY tool_use_id, span_id) AS joined
           ON joined.tool_use_id = coalesce(sp.tool_use_id, parent.tool_use_id)
    WHERE sp.trace_id = (SELECT native_trace_id FROM t)
    UNION ALL
    SELECT 'event', ev.event_time, NULL, ev.event_name, 'event', ev.native_span_id, NULL, ev.tool_use_id, NULL,
           ev.duration_ms,
           CASE WHEN ev.success IS FALSE OR ev.error IS NOT NULL THEN '{sc.STATUS_FAILED}' END,
           json_strip_nulls(row_to_json(d))
    FROM claude_code_events ev
    CROSS JOIN LATERAL (
        SELECT ev.tool_name, ev.model, ev.input_tokens, ev.output_tokens, ev.cache_read_tokens,
               ev.cache_creation_tokens, ev.cost_usd, ev.ttft_ms, ev.request_id, ev.error, ev.decision,
               ev.decision_source, ev.hook_event, ev.hook_name, ev.hook_total_duration_ms
    ) d
    WHERE ev.prompt_id = (SELECT prompt_id FROM t)
       OR ((SELECT prompt_id FROM t) IS NULL AND ev.native_trace_id = (SELECT native_trace_id FROM t))
) s
CROSS JOIN LATERAL (
    SELECT s.origin, to_char(s.time AT TIME ZONE 'UTC', '{_ISO_UTC}') AS time,
           to_char(s.end_time AT TIME ZONE 'UTC', '{_ISO_UTC}') AS end_time, s.name, s.kind, s.span_id,
           s.parent_span_id, s.tool_use_id, s.joined_span_id, s.duration_ms, s.status, s.details
) i
"""  # noqa: S608
_TIMELINE_SQL = (
    "WITH t AS (SELECT $1::uuid AS turn_id, $2::uuid AS native_trace_id, $3::text AS prompt_id)\n"
    + TIMELINE_OF_T
)


async def timeline_json(
    conn: asyncpg.Connection,
    turn_id: uuid.UUID | None,
    native_trace_id: uuid.UUID | None,
    prompt_id: str | None,
) -> str:
    """The merged timeline as a JSON array (text), in time order."""
    return str(await conn.fetchval(_TIMELINE_SQL, turn_id, native_trace_id, prompt_id))


async def resolve_native(conn: asyncpg.Connection, trace_id: uuid.UUID) -> dict[str, Any] | None:
    """For a native trace id: the hook turn that records it, or the native interaction itself."""
    turn = await conn.fetchrow("SELECT * FROM execution_traces WHERE native_trace_id = $1 LIMIT 1", trace_id)
    if turn is not None:
        return {"turn": dict(turn)}
    root = await conn.fetchrow(
        f"""SELECT sp.*, l.prompt_id FROM claude_code_spans sp
            LEFT JOIN claude_code_trace_links l ON l.native_trace_id = sp.trace_id
            WHERE sp.trace_id = $1 AND sp.span_type = '{sc.CC_SPAN_INTERACTION}'
            ORDER BY sp.started_at LIMIT 1""",  # noqa: S608
        trace_id,
    )
    return {"native": dict(root)} if root is not None else None
