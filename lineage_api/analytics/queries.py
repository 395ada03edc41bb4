"""The analytics SQL: a window's executions as "units" (rollup hours + raw rows), aggregated in SQL.

A unit is either one rollup row (a whole UTC hour of one pattern version inside the window) or
one raw execution from an hour the window's start or end cuts. Trend periods are counted from
the units too, except that a rollup hour cut by a boundary between two periods is replaced by its
raw rows' counts (an index-only scan). Counts, the period series, daily peaks and first use are
summed in SQL; durations, quality scores and session/user ids come back as packed byte strings
that numpy reads without copying (exact percentiles, means and distinct counts over ~100k values
in a few ms).

With ``use_rollups`` false every unit is a raw row: the same numbers, computed the slow way (the
tests compare the two).

Parameters of every query: $1 scope (a pattern id, or an array of node ids), $2 window start,
$3 window end, $4 epoch of the hour containing the end, $5 whether the end splits an hour,
$6 period length (s), $7 number of periods, $8 use_rollups.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from traceability.lineage_api.analytics.windows import Window

_RAW_UNIT = """
    SELECT TRUE AS raw, e.node_id, e.executed_at AS t, 1 AS n, (e.success AND NOT e.blocked)::int AS s,
           e.blocked::int AS bl,
           coalesce(float8send(e.duration_ms), ''::bytea) AS d,
           coalesce(float8send(e.quality_score), ''::bytea) AS q,
           coalesce(int8send((SELECT k.id FROM pattern_execution_keys k
                              WHERE k.kind = 's' AND k.value = e.session_id)), ''::bytea) AS sk,
           coalesce(int8send((SELECT k.id FROM pattern_execution_keys k
                              WHERE k.kind = 'u' AND k.value = e.user_id)), ''::bytea) AS uk,
           e.executed_at AS last_at{raw_maps}
"""
_RAW_MAPS = """,
           jsonb_build_object(coalesce(e.tool_name, ''), 1) AS tool_counts,
           jsonb_build_object(traceability_file_extension(e.file_path), 1) AS extension_counts,
           jsonb_build_object(coalesce(e.user_id, ''), 1) AS user_counts"""
_ROLLUP_MAPS = ", r.tool_counts, r.extension_counts, r.user_counts"


def _units_cte(rollup_scope: str, raw_scope: str, *, maps: bool = False) -> str:
    """The ``edge_hours`` and ``units`` CTEs for a scope (SQL fragments, constants only).

    Units are the rollup hours wholly inside the window, plus the raw rows of the (at most two)
    hours the window's start and end cut; with $8 (use_rollups) false, every row raw.
    """
    raw_unit = _RAW_UNIT.format(raw_maps=_RAW_MAPS if maps else "")
    rollup_maps = _ROLLUP_MAPS if maps else ""
    return f"""
edge_hours AS (
    SELECT to_timestamp($4::bigint - j * $6::bigint) AS b
    FROM unnest(ARRAY[0, $7::int]) AS j
    WHERE $8::boolean AND $5::boolean
), units AS NOT MATERIALIZED (
    SELECT FALSE AS raw, r.node_id, r.bucket_start AS t, r.executions AS n, r.successes AS s,
           r.blocked AS bl, r.durations AS d, r.quality_scores AS q, r.session_keys AS sk,
           r.user_keys AS uk, r.last_executed_at AS last_at{rollup_maps}
    FROM pattern_execution_rollups r
    WHERE $8::boolean AND {rollup_scope}
      AND r.bucket_start >= $2::timestamptz AND r.bucket_start + interval '1 hour' <= $3::timestamptz
    UNION ALL
    {raw_unit}
    FROM edge_hours h
    JOIN pattern_executions e
      ON {raw_scope} AND e.executed_at >= h.b AND e.executed_at < h.b + interval '1 hour'
    WHERE e.executed_at >= $2::timestamptz AND e.executed_at < $3::timestamptz
    UNION ALL
    {raw_unit}
    FROM pattern_executions e
    WHERE NOT $8::boolean AND {raw_scope}
      AND e.executed_at >= $2::timestamptz AND e.executed_at < $3::timestamptz
)"""  # noqa: S608 - fragments are constants


_PATTERN_UNITS = _units_cte("r.pattern_id = $1::text", "e.pattern_id = $1::text")
_PATTERN_UNITS_WITH_MAPS = _units_cte("r.pattern_id = $1::text", "e.pattern_id = $1::text", maps=True)
_NODE_UNITS = _units_cte("r.node_id = ANY($1::uuid[])", "e.node_id = ANY($1::uuid[])")

ANALYTICS_SQL = f"""
WITH {_PATTERN_UNITS}, inner_split_hours AS (
    -- hours cut by a boundary between two trend periods: counted from the raw rows (index only)
    SELECT to_timestamp($4::bigint - j * $6::bigint) AS b
    FROM generate_series(1, $7::int - 1) AS j
    WHERE $8::boolean AND $5::boolean
), period_parts AS (
    SELECT t, n FROM units
    WHERE raw OR NOT ($5::boolean AND ($4::bigint - extract(epoch FROM t)::bigint) % $6::bigint = 0)
    UNION ALL
    SELECT e.executed_at, 1
    FROM inner_split_hours h
    JOIN pattern_executions e
      ON e.pattern_id = $1::text AND e.executed_at >= h.b AND e.executed_at < h.b + interval '1 hour'
), periods AS (
    SELECT floor((extract(epoch FROM t) - extract(epoch FROM $2::timestamptz)) / $6::bigint)::int AS idx,
           sum(n)::bigint AS c
    FROM period_parts GROUP BY 1
)
SELECT
    EXISTS (SELECT 1 FROM pattern_lineage_nodes WHERE pattern_id = $1::text) AS known,
    coalesce(sum(n), 0)::bigint AS executions,
    coalesce(sum(s), 0)::bigint AS successes,
    coalesce(sum(bl), 0)::bigint AS blocked,
    coalesce(string_agg(d, ''::bytea), ''::bytea) AS durations,
    coalesce(string_agg(q, ''::bytea), ''::bytea) AS quality_scores,
    coalesce(string_agg(sk, ''::bytea), ''::bytea) AS session_keys,
    coalesce(string_agg(uk, ''::bytea), ''::bytea) AS user_keys,
    max(last_at) AS last_at,
    (SELECT array_agg(idx ORDER BY idx) FROM periods) AS period_index,
    (SELECT array_agg(c ORDER BY idx) FROM periods) AS period_counts,
    (SELECT max(c) FROM (SELECT sum(n) AS c FROM units GROUP BY date_trunc('day', t, 'UTC')) AS d)::bigint
        AS peak_daily,
    (SELECT min(executed_at) FROM pattern_executions WHERE pattern_id = $1::text) AS first_ever
FROM units
"""  # noqa: S608 - fragments are constants

DISTRIBUTION_SQL = f"""
WITH {_PATTERN_UNITS_WITH_MAPS}
SELECT 'by_version' AS dimension, v.pattern_version AS key, sum(u.n)::bigint AS executions
FROM units u JOIN pattern_lineage_nodes v ON v.id = u.node_id GROUP BY v.pattern_version
UNION ALL
SELECT 'by_tool', m.key, sum(m.value::bigint) FROM units u, jsonb_each_text(u.tool_counts) m GROUP BY m.key
UNION ALL
SELECT 'by_file_extension', m.key, sum(m.value::bigint)
FROM units u, jsonb_each_text(u.extension_counts) m GROUP BY m.key
UNION ALL
SELECT 'by_user', m.key, sum(m.value::bigint) FROM units u, jsonb_each_text(u.user_counts) m GROUP BY m.key
UNION ALL
SELECT 'by_hour_of_day', extract(hour FROM u.t AT TIME ZONE 'UTC')::int::text, sum(u.n)::bigint
FROM units u GROUP BY 2
UNION ALL
SELECT 'by_weekday', (extract(isodow FROM u.t AT TIME ZONE 'UTC')::int - 1)::text, sum(u.n)::bigint
FROM units u GROUP BY 2
"""  # noqa: S608 - fragments are constants

NODE_SAMPLES_SQL = f"""
WITH {_NODE_UNITS}
SELECT node_id,
       sum(n)::bigint AS executions,
       sum(s)::bigint AS successes,
       sum(bl)::bigint AS blocked,
       string_agg(d, ''::bytea) AS durations,
       string_agg(q, ''::bytea) AS quality_scores
FROM units GROUP BY node_id
"""  # noqa: S608 - fragments are constants


# For queries this size, JIT compilation (70+ ms), parallel workers (~15 ms to start) and generic
# plans (which cannot prune the unused branches) all cost more than they save. SET LOCAL keeps the
# change inside the transaction.
_QUERY_SETTINGS = (
    "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0; "
    "SET LOCAL plan_cache_mode = force_custom_plan"
)


@asynccontextmanager
async def read_snapshot(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """A read-only transaction (one snapshot for every query in it) with the query settings above."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute(_QUERY_SETTINGS)
        yield


def _window_args(window: Window, use_rollups: bool) -> tuple[Any, ...]:
    return (
        window.start,
        window.end,
        window.end_hour_epoch,
        window.end_splits_hour,
        window.period_s,
        window.periods,
        use_rollups,
    )


@dataclass(frozen=True)
class WindowAggregate:
    """One pattern's executions in a window, summed (counts) and packed (values)."""

    known: bool
    executions: int
    successes: int
    blocked: int
    durations: bytes
    quality_scores: bytes
    session_keys: bytes
    user_keys: bytes
    last_at: datetime | None
    period_counts: dict[int, int]
    peak_daily: int
    first_ever: datetime | None


async def fetch_window_aggregate(
    conn: asyncpg.Connection, pattern_id: str, window: Window, *, use_rollups: bool = True
) -> WindowAggregate:
    row = await conn.fetchrow(ANALYTICS_SQL, pattern_id, *_window_args(window, use_rollups))
    assert row is not None
    index = row["period_index"] or []
    counts = row["period_counts"] or []
    return WindowAggregate(
        known=row["known"],
        executions=row["executions"],
        successes=row["successes"],
        blocked=row["blocked"],
        durations=row["durations"],
        quality_scores=row["quality_scores"],
        session_keys=row["session_keys"],
        user_keys=row["user_keys"],
        last_at=row["last_at"],
        period_counts=dict(zip(index, counts, strict=True)),
        peak_daily=row["peak_daily"] or 0,
        first_ever=row["first_ever"],
    )


async def fetch_distribution(
    conn: asyncpg.Connection, pattern_id: str, window: Window, *, use_rollups: bool = True
) -> dict[str, dict[str, int]]:
    """``{dimension: {key: executions}}``; empty keys mean "none" (no tool, extension or user)."""
    rows = await conn.fetch(DISTRIBUTION_SQL, pattern_id, *_window_args(window, use_rollups))
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        out.setdefault(row["dimension"], {})[row["key"]] = row["executions"]
    return out


@dataclass(frozen=True)
class NodeSample:
    """One pattern version's executions in a window: counts and packed values."""

    node_id: uuid.UUID
    executions: int
    successes: int
    blocked: int
    durations: bytes
    quality_scores: bytes


async def fetch_node_samples(
    conn: asyncpg.Connection, node_ids: list[uuid.UUID], window: Window, *, use_rollups: bool = True
) -> dict[uuid.UUID, NodeSample]:
    """Samples of the given versions in ``window`` (a version with no executions is absent)."""
    rows = await conn.fetch(NODE_SAMPLES_SQL, node_ids, *_window_args(window, use_rollups))
    return {
        row["node_id"]: NodeSample(
            node_id=row["node_id"],
            executions=row["executions"],
            successes=row["successes"],
            blocked=row["blocked"],
            durations=row["durations"] or b"",
            quality_scores=row["quality_scores"] or b"",
        )
        for row in rows
    }
