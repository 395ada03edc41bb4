"""Sessions and turns as the web UI reads them: the session list, one session's turns, one turn's spans.

A session is every ``execution_traces`` row sharing a ``session_id`` (the turns, and the session
root that holds events outside any turn), whichever Claude Code process sent them. The project is
the last path component of the turn's ``cwd``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from traceability.instrumentation import semconv as sc
from traceability.lineage_api.store import sessions


@dataclass(frozen=True)
class SessionFilter:
    """What the session list is narrowed to; ``None`` means no restriction."""

    project: str | None = None
    status: str | None = None  # ok | failed (a failed/abandoned turn or a failed/blocked tool)
    since: datetime | None = None
    until: datetime | None = None
    tool: str | None = None
    file_path: str | None = None  # substring of a file path a tool touched
    text: str | None = None  # substring of a file path, a tool input or a captured prompt
    branch: str | None = None  # the git branch a hook span of the session recorded (vcs.ref.head.name)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


COUNT_CAP = 1000  # a filtered list counts its matches up to this many ("1000+")

# The tool calls of Claude Code's trace ``{trace}`` and how many failed: a ``claude_code.tool`` span
# with its ``tool.execution`` child, failed when either is ERROR or the execution reports no success
# (Claude Code leaves the tool span UNSET when the tool fails). The session page and the list count alike.
_NATIVE_TOOLS_OF = f"""
SELECT count(*) FILTER (WHERE call) AS calls, count(*) FILTER (WHERE call AND failed) AS failed
FROM (SELECT bool_or(c.span_type = '{sc.CC_SPAN_TOOL}') AS call,
             bool_or(c.status_code = 'ERROR' OR c.success IS FALSE) AS failed
      FROM claude_code_spans c
      WHERE c.trace_id = {{trace}} AND c.span_type IN ('{sc.CC_SPAN_TOOL}', '{sc.CC_SPAN_TOOL_EXECUTION}')
      GROUP BY CASE WHEN c.span_type = '{sc.CC_SPAN_TOOL}' THEN c.span_id ELSE c.parent_span_id END) per_tool
"""  # noqa: S608 - constants

# The native-only interactions ``i`` of list row ``s`` (no hook turn records their trace id), and the
# same with each one's tool calls ``n``: counted only once the interaction is known to be native-only
# (``OFFSET 0`` keeps the planner from counting the tools of every joined interaction first).
_NATIVE_TURNS = f"""FROM claude_code_spans i
    WHERE i.session_id = s.session_id::text AND i.span_type = '{sc.CC_SPAN_INTERACTION}'
      AND NOT EXISTS (SELECT 1 FROM execution_traces j WHERE j.native_trace_id = i.trace_id)"""  # noqa: S608
_NATIVE_TURN_TOOLS = (
    f"FROM (SELECT i.trace_id {_NATIVE_TURNS} OFFSET 0) i"
    f" CROSS JOIN LATERAL ({_NATIVE_TOOLS_OF.replace('{trace}', 'i.trace_id')}) n"
)

# $1 project, $2 status, $3 since, $4 until, $5 tool, $6 file (LIKE), $7 text (LIKE), $10 branch; a
# session's native-only turns count for the status, the tool, the file (their tool spans' file_path)
# and the text (their prompt, when captured, and their tools' file_path and Bash command).
_MATCH = (
    r"""
    FROM trace_sessions s
    WHERE ($1::text IS NULL OR s.project = $1)
      AND ($3::timestamptz IS NULL OR s.last_started >= $3)
      AND ($4::timestamptz IS NULL OR s.first_started < $4)
      AND ($2::text IS NULL
           OR ($2 = 'failed') = (s.failed_turns > 0
                                 OR EXISTS (SELECT 1 FROM hook_executions h
                                            WHERE h.session_id = s.session_id::text AND h.span_type = 'tool'
                                              AND h.status IN ('failed', 'blocked'))
                                 OR EXISTS (SELECT 1 {native_turn_tools} WHERE n.failed > 0)))
      AND ($5::text IS NULL
           OR EXISTS (SELECT 1 FROM hook_executions h WHERE h.session_id = s.session_id::text AND h.tool_name = $5)
           OR EXISTS (SELECT 1 {native_turns}
                        AND EXISTS (SELECT 1 FROM claude_code_spans c
                                    WHERE c.trace_id = i.trace_id AND c.span_type = 'tool' AND c.tool_name = $5)))
      AND ($10::text IS NULL OR EXISTS (SELECT 1 FROM hook_executions h
                                        WHERE h.session_id = s.session_id::text AND h.span_type = 'hook'
                                          AND h.attributes->>'vcs.ref.head.name' = $10))
      AND ($6::text IS NULL
           OR EXISTS (SELECT 1 FROM hook_executions h WHERE h.session_id = s.session_id::text AND h.file_path ILIKE $6)
           OR EXISTS (SELECT 1 {native_turns}
                        AND EXISTS (SELECT 1 FROM claude_code_spans c
                                    WHERE c.trace_id = i.trace_id AND c.span_type = 'tool'
                                      AND c.attributes->>'{file_path}' ILIKE $6)))
      AND ($7::text IS NULL
           OR EXISTS (SELECT 1 FROM execution_traces t WHERE t.session_id = s.session_id AND t.prompt_text ILIKE $7)
           OR EXISTS (SELECT 1 FROM hook_executions h
                      WHERE h.session_id = s.session_id::text AND h.span_type = 'tool'
                        AND (h.file_path ILIKE $7 OR h.input_data::text ILIKE $7))
           OR EXISTS (SELECT 1 {native_turns}
                        AND (i.prompt_text ILIKE $7
                             OR EXISTS (SELECT 1 FROM claude_code_spans c
                                        WHERE c.trace_id = i.trace_id AND c.span_type = 'tool'
                                          AND (c.attributes->>'{file_path}' ILIKE $7
                                               OR c.attributes->>'{full_command}' ILIKE $7)))))
""".replace("{native_turn_tools}", _NATIVE_TURN_TOOLS)
    .replace("{native_turns}", _NATIVE_TURNS)
    .replace("{file_path}", sc.CC_FILE_PATH)
    .replace("{full_command}", sc.CC_FULL_COMMAND)
)

# The page query and the count share the filter (``{match}``, a constant: no user text is ever spliced).
_SESSIONS_SQL = r"""
SELECT s.session_id, s.first_started, s.last_completed, s.turns, s.failed_turns, s.project, s.cwd, s.model,
       h.tool_calls + nt.tool_calls AS tool_calls, h.failed_tools + nt.failed_tools AS failed_tools, h.blocked_tools,
       (SELECT g.attributes->>'vcs.ref.head.name' FROM hook_executions g
        WHERE g.session_id = s.session_id::text AND g.span_type = 'hook' AND g.attributes ? 'vcs.ref.head.name'
        ORDER BY g.started_at DESC LIMIT 1) AS branch
FROM (SELECT s.* {match}
      ORDER BY s.last_started DESC, s.session_id
      LIMIT $8 OFFSET $9) s
CROSS JOIN LATERAL (
    SELECT count(*) AS tool_calls,
           count(*) FILTER (WHERE x.status = 'failed') AS failed_tools,
           count(*) FILTER (WHERE x.status = 'blocked') AS blocked_tools
    FROM hook_executions x WHERE x.session_id = s.session_id::text AND x.span_type = 'tool'
) h
CROSS JOIN LATERAL (
    SELECT coalesce(sum(n.calls), 0)::bigint AS tool_calls, coalesce(sum(n.failed), 0)::bigint AS failed_tools
    {native_turn_tools}
) nt
ORDER BY s.last_started DESC, s.session_id
""".replace("{match}", _MATCH).replace("{native_turn_tools}", _NATIVE_TURN_TOOLS)
_COUNT_SQL = "SELECT count(*) FROM (SELECT 1 {match} LIMIT $8) matched".replace(
    "{match}", _MATCH.replace("$10", "$9")
)


async def list_sessions(
    conn: asyncpg.Connection, filters: SessionFilter, *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int, bool]:
    """Sessions matching ``filters``, newest activity first; how many match; whether that count is capped."""
    args = (
        filters.project,
        filters.status,
        filters.since,
        filters.until,
        filters.tool,
        _like(filters.file_path) if filters.file_path else None,
        _like(filters.text) if filters.text else None,
    )
    rows = await conn.fetch(_SESSIONS_SQL, *args, limit, offset, filters.branch)
    if filters == SessionFilter():
        total = int(await conn.fetchval("SELECT count(*) FROM trace_sessions"))
        return rows, total, False
    cap = max(COUNT_CAP, offset + limit + 1)
    total = int(await conn.fetchval(_COUNT_SQL, *args, cap, filters.branch))
    return rows, total, total >= cap


# The distinct projects, one index probe each (a loose scan of idx_trace_sessions_project) rather
# than reading every session: there are few projects and many sessions.
_PROJECTS_SQL = """
WITH RECURSIVE p(project) AS (
    SELECT min(project) FROM trace_sessions
    UNION ALL
    SELECT (SELECT min(s.project) FROM trace_sessions s WHERE s.project > p.project) FROM p WHERE p.project IS NOT NULL
)
SELECT project FROM p WHERE project IS NOT NULL
"""


async def projects(conn: asyncpg.Connection) -> list[str]:
    """Every project name seen, for the filter's choices."""
    rows = await conn.fetch(_PROJECTS_SQL)
    return [r["project"] for r in rows if r["project"]]


# Every trace row of session ``$1`` with per-turn tool counts, and its Claude Code interactions whose
# hook turn never arrived (hooks not installed) shaped alike: their own trace id as id, their tool
# calls counted as the list counts them (``_NATIVE_TOOLS_OF``).
_SESSION_TURNS_SQL = f"""
SELECT t.id, t.correlation_id, t.otel_trace_id, t.span_name, t.source, t.status, t.success,
       t.started_at, t.completed_at, t.duration_ms, t.prompt_text, t.prompt_id, t.context,
       t.error_message, t.resource, t.native_trace_id, FALSE AS native_only,
       count(h.id) FILTER (WHERE h.span_type = 'tool') AS tool_calls,
       count(h.id) FILTER (WHERE h.span_type = 'tool' AND h.status = 'failed') AS failed_tools,
       count(h.id) FILTER (WHERE h.span_type = 'tool' AND h.status = 'blocked') AS blocked_tools,
       count(h.id) AS spans,
       array_remove(array_agg(DISTINCT h.tool_name) FILTER (WHERE h.span_type = 'tool'), NULL) AS tools
FROM execution_traces t LEFT JOIN hook_executions h ON h.trace_id = t.id
WHERE t.session_id = $1
GROUP BY t.id
UNION ALL
SELECT sp.trace_id, sp.trace_id, replace(sp.trace_id::text, '-', ''), '{sc.SPAN_NAME_TURN}', 'claude-code',
       CASE WHEN sp.status_code = 'ERROR' THEN '{sc.TRACE_STATUS_FAILED}' ELSE '{sc.TRACE_STATUS_COMPLETED}' END,
       sp.status_code IS DISTINCT FROM 'ERROR', sp.started_at, sp.completed_at, sp.duration_ms::int,
       sp.prompt_text, l.prompt_id, '{{}}'::jsonb, sp.status_message, sp.resource, sp.trace_id, TRUE,
       native.calls, native.failed, 0, tools.spans, tools.names
FROM claude_code_spans sp
LEFT JOIN claude_code_trace_links l ON l.native_trace_id = sp.trace_id
CROSS JOIN LATERAL ({_NATIVE_TOOLS_OF.replace("{trace}", "sp.trace_id")}) native
CROSS JOIN LATERAL (
    SELECT count(*) AS spans,
           array_remove(array_agg(DISTINCT c.tool_name) FILTER (WHERE c.span_type = '{sc.CC_SPAN_TOOL}'), NULL)
               AS names
    FROM claude_code_spans c WHERE c.trace_id = sp.trace_id AND c.span_type <> '{sc.CC_SPAN_INTERACTION}'
) tools
WHERE sp.session_id = $1::text AND sp.span_type = '{sc.CC_SPAN_INTERACTION}'
  AND NOT EXISTS (SELECT 1 FROM execution_traces j WHERE j.native_trace_id = sp.trace_id)
ORDER BY started_at, id
"""  # noqa: S608 - constants


# Where the work happened: the git context (``hooks/git_context``) of the newest hook span of a session
# (``{where}`` = session_id) or of a turn (trace_id) that recorded one.
_GIT_SQL = f"""
SELECT attributes->>'{sc.VCS_REPOSITORY_NAME}' AS repository, attributes->>'{sc.VCS_REF_HEAD_NAME}' AS branch,
       attributes->>'{sc.VCS_REF_HEAD_REVISION}' AS revision, attributes->>'{sc.VCS_WORKTREE}' AS worktree
FROM hook_executions
WHERE {{where}} = $1 AND span_type = '{sc.SPAN_TYPE_HOOK}'
  AND (attributes ? '{sc.VCS_REF_HEAD_NAME}' OR attributes ? '{sc.VCS_REF_HEAD_REVISION}')
ORDER BY started_at DESC LIMIT 1
"""  # noqa: S608 - constants
_SESSION_GIT_SQL = _GIT_SQL.replace("{where}", "session_id")
_TURN_GIT_SQL = _GIT_SQL.replace("{where}", "trace_id")


async def git_context(
    conn: asyncpg.Connection, *, session_id: str | None = None, trace_id: uuid.UUID | None = None
) -> dict[str, Any] | None:
    """Repository, branch, HEAD revision and worktree the hooks recorded for a session or a turn
    (the newest); None when none did (not a git checkout, or only Claude Code's own telemetry)."""
    if session_id is not None:
        row = await conn.fetchrow(_SESSION_GIT_SQL, session_id)
    else:
        row = await conn.fetchrow(_TURN_GIT_SQL, trace_id)
    return dict(row) if row is not None else None


async def session_turns(conn: asyncpg.Connection, session_id: uuid.UUID) -> list[asyncpg.Record]:
    """Every turn of the session in time order (hook turns, session rows and native-only turns)."""
    rows: list[asyncpg.Record] = await conn.fetch(_SESSION_TURNS_SQL, session_id)
    return rows


# The turn page's root: the trace of ``$1`` (its correlation id, else the turn Claude Code's own
# trace ``$1`` was joined to), with the turn's totals as one jsonb (``sessions.TOTALS_OF_T``):
# one round trip where the page used to make four.
_TURN_PAGE_SQL = f"""
{sessions.TURN_WITH_TOTALS} FROM r
"""

# Every span of a turn as the waterfall's ``SpanIn`` columns (in that order): the hook spans of
# trace row ``$1`` and Claude Code's own spans of native trace ``$2``, a native tool span under our
# ``execute_tool`` span of the same ``tool_use_id``. Statuses follow ``views.status_of`` and
# ``views.native_status``.
_TURN_SPANS_SQL = f"""
SELECT span_id, parent_span_id, coalesce(span_name, hook_name, '') AS name, coalesce(span_type, 'other') AS kind,
       CASE WHEN status = 'completed' AND success IS FALSE THEN 'failed' ELSE coalesce(nullif(status, ''), 'unknown')
       END AS status,
       started_at, duration_ms::float8 AS duration_ms
FROM hook_executions WHERE trace_id = $1
UNION ALL
SELECT sp.span_id, CASE WHEN sp.span_type = '{sc.CC_SPAN_TOOL}' THEN coalesce(joined.span_id, sp.parent_span_id)
                        ELSE sp.parent_span_id END,
       sp.name, 'native', CASE WHEN sp.status_code = 'ERROR' OR sp.success IS FALSE THEN 'failed' ELSE 'completed' END,
       sp.started_at, sp.duration_ms
FROM claude_code_spans sp
LEFT JOIN (SELECT DISTINCT ON (tool_use_id) tool_use_id, span_id FROM hook_executions
           WHERE trace_id = $1 AND span_type = '{sc.SPAN_TYPE_TOOL}' AND tool_use_id IS NOT NULL
           ORDER BY tool_use_id, started_at DESC, execution_order DESC, span_id DESC) AS joined
       ON joined.tool_use_id = sp.tool_use_id
WHERE sp.trace_id = $2
"""  # noqa: S608 - constants


async def turn_page(conn: asyncpg.Connection, trace_id: uuid.UUID) -> dict[str, Any] | None:
    """The turn ``trace_id`` names (a correlation id, or the native trace id joined to it), with
    ``totals`` (``sessions.TOTALS_KEYS`` and ``models``); None when no hook turn has it."""
    row = await conn.fetchrow(_TURN_PAGE_SQL, trace_id)
    return dict(row) if row is not None else None


async def turn_spans(
    conn: asyncpg.Connection, trace_row_id: uuid.UUID | None, native_trace_id: uuid.UUID | None
) -> list[asyncpg.Record]:
    """The waterfall's spans of a turn, hook and native, unordered (the layout orders them)."""
    rows: list[asyncpg.Record] = await conn.fetch(_TURN_SPANS_SQL, trace_row_id, native_trace_id)
    return rows


async def span(conn: asyncpg.Connection, trace_row_id: uuid.UUID, span_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM hook_executions WHERE trace_id = $1 AND span_id = $2", trace_row_id, span_id
    )


async def previous_content(
    conn: asyncpg.Connection, file_path: str, before: datetime, code_attribute: str
) -> str | None:
    """The code last written to ``file_path`` before ``before`` (for a Write's diff), if recorded."""
    value = await conn.fetchval(
        """SELECT attributes->>$3 FROM hook_executions
           WHERE file_path = $1 AND span_type = 'tool' AND started_at < $2 AND attributes ? $3
             AND tool_name = 'Write'
           ORDER BY started_at DESC LIMIT 1""",
        file_path,
        before,
        code_attribute,
    )
    return str(value) if value is not None else None


async def span_executions(conn: asyncpg.Connection, hook_execution_id: uuid.UUID) -> list[asyncpg.Record]:
    """The pattern versions a tool use produced or applied."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT x.pattern_id, x.node_id, n.pattern_name, n.pattern_version, x.success, x.blocked
           FROM pattern_executions x JOIN pattern_lineage_nodes n ON n.id = x.node_id
           WHERE x.hook_execution_id = $1 ORDER BY n.pattern_name""",
        hook_execution_id,
    )
    return rows


def as_dict(record: asyncpg.Record | None) -> dict[str, Any] | None:
    return dict(record) if record is not None else None


async def native_span(
    conn: asyncpg.Connection, native_trace_id: uuid.UUID, span_id: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM claude_code_spans WHERE trace_id = $1 AND span_id = $2", native_trace_id, span_id
    )


async def native_interaction(conn: asyncpg.Connection, native_trace_id: uuid.UUID) -> asyncpg.Record | None:
    """A native interaction with no hook turn (hooks not installed): what its page needs as a root."""
    return await conn.fetchrow(
        """SELECT sp.trace_id, sp.session_id, sp.started_at, sp.completed_at, sp.duration_ms, sp.status_code,
                  sp.prompt_text, l.prompt_id
           FROM claude_code_spans sp LEFT JOIN claude_code_trace_links l ON l.native_trace_id = sp.trace_id
           WHERE sp.trace_id = $1 AND sp.span_type = 'interaction' LIMIT 1""",
        native_trace_id,
    )


async def session_usage(conn: asyncpg.Connection, session_ids: list[str]) -> dict[str, asyncpg.Record]:
    """Per session: Claude Code's model requests, input and output tokens (as the session page
    counts them: cache reads and writes apart) and cost, from its api_request events."""
    rows = await conn.fetch(
        """SELECT session_id, count(*) AS llm_calls,
                  coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
                  coalesce(sum(cost_usd), 0)::float8 AS cost_usd,
                  array_agg(DISTINCT model) FILTER (WHERE model IS NOT NULL) AS models
           FROM claude_code_events WHERE session_id = ANY($1::text[]) AND event_name = 'api_request'
           GROUP BY session_id""",
        session_ids,
    )
    return {r["session_id"]: r for r in rows}
