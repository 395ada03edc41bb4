"""SQL shared by the span writer and the native writer: staged inserts and the native trace -> turn join.

The join: a log event with a prompt id and a trace id links that native trace to the prompt
(``claude_code_trace_links``); the hook turn of that prompt records the native trace id. Log batches
and hook span batches both take a transaction-scoped advisory lock per prompt id before they write,
then join: hook span batches run ``JOIN_TURNS``, log batches ``LINK_AND_JOIN_TURNS`` (their links
and the same join, in one statement). Whichever commits second sees the other's rows, so the join
happens whatever the arrival order, and a replay changes nothing. When several native traces name
one prompt, the smallest id wins (the same answer in any order).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from traceability.exporter.storage.native_mapping import (
    EVENT_COLUMNS,
    EVENT_JSON_COLUMNS,
    METRIC_COLUMNS,
    METRIC_JSON_COLUMNS,
    NATIVE_SPAN_COLUMNS,
    NATIVE_SPAN_JSON_COLUMNS,
)

_TYPES = {
    "id": "uuid", "native_trace_id": "uuid", "trace_id": "uuid", "event_time": "timestamptz",
    "observed_at": "timestamptz", "started_at": "timestamptz", "completed_at": "timestamptz",
    "start_time": "timestamptz", "point_time": "timestamptz", "input_tokens": "bigint",
    "output_tokens": "bigint", "cache_read_tokens": "bigint", "cache_creation_tokens": "bigint",
    "cost_usd": "double precision", "duration_ms": "double precision", "ttft_ms": "double precision",
    "hook_total_duration_ms": "double precision", "num_hooks": "bigint", "success": "boolean",
    "is_monotonic": "boolean", "value": "double precision", "count": "bigint",
}  # fmt: skip


def _staged_insert(table: str, columns: Sequence[str], json_columns: frozenset[str]) -> tuple[str, str]:
    stage = f"_stage_{table}"
    cols = ", ".join(f"{c} {_TYPES.get(c, 'text')}" for c in columns)
    select = ", ".join(f"{c}::jsonb" if c in json_columns else c for c in columns)
    ddl = f"CREATE TEMP TABLE IF NOT EXISTS {stage} ({cols}) ON COMMIT DELETE ROWS"
    insert = (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM {stage} ON CONFLICT (id) DO NOTHING"  # noqa: S608
    )
    return ddl, insert


EVENTS = _staged_insert("claude_code_events", EVENT_COLUMNS, EVENT_JSON_COLUMNS)
METRICS = _staged_insert("claude_code_metric_points", METRIC_COLUMNS, METRIC_JSON_COLUMNS)
SPANS = _staged_insert("claude_code_spans", NATIVE_SPAN_COLUMNS, NATIVE_SPAN_JSON_COLUMNS)

LOCK_PROMPTS = """
SELECT pg_advisory_xact_lock(k) FROM (
    SELECT DISTINCT hashtextextended('cc-prompt:' || p, 0) AS k FROM unnest($1::text[]) AS p ORDER BY 1
) AS keys
"""
# The sessions' locks as ``traceability_refresh_sessions`` takes them (0010, 0014: per UUID session id,
# in id order), taken before any row lock by a batch that will refresh those sessions.
LOCK_SESSIONS = r"""
SELECT pg_advisory_xact_lock(hashtextextended('trace_sessions:' || id::text, 0)) FROM (
    SELECT DISTINCT s::uuid AS id FROM unnest($1::text[]) AS s
    WHERE s ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' ORDER BY 1
) AS locks
"""
JOIN_TURNS = """
UPDATE execution_traces t SET native_trace_id = l.native_trace_id, updated_at = NOW()
FROM (SELECT prompt_id, min(native_trace_id::text)::uuid AS native_trace_id
      FROM claude_code_trace_links WHERE prompt_id = ANY($1::text[]) GROUP BY prompt_id) AS l
WHERE t.prompt_id = l.prompt_id AND t.native_trace_id IS DISTINCT FROM l.native_trace_id
"""
# A log batch's links (a trace already linked keeps its prompt), then JOIN_TURNS over their prompts,
# in one statement. Its parts do not see the rows its insert adds: the links joined are the ones
# present and the new ones the insert returns (under the prompts' locks no other transaction adds
# links of these prompts).
LINK_AND_JOIN_TURNS = """
WITH new_links AS (
    INSERT INTO claude_code_trace_links (native_trace_id, prompt_id, session_id)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])
    ON CONFLICT (native_trace_id) DO NOTHING
    RETURNING native_trace_id, prompt_id
), links AS (
    SELECT native_trace_id, prompt_id FROM claude_code_trace_links WHERE prompt_id = ANY($2::text[])
    UNION ALL
    SELECT native_trace_id, prompt_id FROM new_links
)
UPDATE execution_traces t SET native_trace_id = l.native_trace_id, updated_at = NOW()
FROM (SELECT prompt_id, min(native_trace_id::text)::uuid AS native_trace_id FROM links GROUP BY prompt_id) AS l
WHERE t.prompt_id = l.prompt_id AND t.native_trace_id IS DISTINCT FROM l.native_trace_id
"""


async def lock_prompts(conn: asyncpg.Connection, prompt_ids: Sequence[str]) -> None:
    """Serialize the join for these prompts (take it before any row lock: no deadlock)."""
    await conn.execute(LOCK_PROMPTS, sorted(set(prompt_ids)))


async def lock_sessions(conn: asyncpg.Connection, session_ids: Sequence[str]) -> None:
    """Take the locks of the batch's sessions (its trace rows' and native interactions') at once and
    in order: the triggers would take them statement by statement (native spans, then turns, then
    the join), a batch waiting for one while holding another, so two batches crossing two sessions
    deadlocked. The triggers still take them (again, at no cost)."""
    await conn.execute(LOCK_SESSIONS, sorted(set(session_ids)))


async def join_turns(conn: asyncpg.Connection, prompt_ids: Sequence[str]) -> None:
    await conn.execute(JOIN_TURNS, sorted(set(prompt_ids)))


async def copy_native_spans(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    await copy_insert(conn, SPANS, "_stage_claude_code_spans", NATIVE_SPAN_COLUMNS, rows)


async def copy_insert(
    conn: asyncpg.Connection,
    sql: tuple[str, str],
    stage: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
) -> int:
    """Rows inserted: straight COPY into the table for new rows (the common case), else (a replay,
    some rows present) COPY into a staging table and insert the missing ones."""
    table = stage.removeprefix("_stage_")
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        return len(rows)
    except asyncpg.UniqueViolationError:
        pass
    return await staged_insert(conn, sql, stage, columns, rows)


async def staged_insert(
    conn: asyncpg.Connection,
    sql: tuple[str, str],
    stage: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
) -> int:
    """Rows inserted: COPY into the staging table, then insert the rows not present yet."""
    ddl, insert = sql
    await conn.execute(ddl)
    await conn.copy_records_to_table(stage, records=rows, columns=list(columns))
    status = await conn.execute(insert)
    return int(status.split()[-1])


async def native_arrivals(conn: asyncpg.Connection) -> tuple[int, int, datetime | None]:
    """(log events, native spans, newest event time): is Claude Code's own telemetry arriving?"""
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM claude_code_events) AS events,
                  (SELECT count(*) FROM claude_code_spans) AS spans,
                  (SELECT max(event_time) FROM claude_code_events) AS newest"""
    )
    assert row is not None
    return int(row["events"]), int(row["spans"]), row["newest"]
