"""The analytics SQL: a window's executions as "units" (rollup hours + raw rows), aggregated in SQL.

A unit is either one rollup row (a whole UTC hour of one pattern version inside the window) or
one raw execution from an hour the window's start or end cuts. Counts and first use are summed
in SQL; durations, quality scores, session/user ids and each unit's time and count come back as
packed byte strings that numpy reads without copying (exact percentiles, distinct counts, trend
periods and daily peaks over ~100k executions in a few ms). For the trend periods a rollup hour
cut by a boundary between two periods is replaced by its raw rows' times (an index-only scan).

With ``use_rollups`` false every unit is a raw row: the same numbers, computed the slow way (the
tests compare the two).

Parameters of every query: $1 scope (a pattern id, or an array of node ids), $2 window start,
$3 window end, $4 and $5 the first and the end of the whole hours read from rollups (both $3 when
use_rollups is false: everything raw). The analytics query adds the trend periods: $6 epoch of
the hour containing the end, $7 whether the end splits an hour, $8 period length (s), $9 number
of periods, $10 use_rollups.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from traceability.lineage_api.store.rows import row_as

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
    """The ``units`` CTE for a scope (SQL fragments, constants only).

    Units are the rollup hours in [$4, $5) (the whole hours inside the window) and the raw rows
    in [$2, $4) and [$5, $3) (the cut hours at its edges). Each part is a plain range, so each
    is one index range scan.
    """
    raw_unit = _RAW_UNIT.format(raw_maps=_RAW_MAPS if maps else "")
    rollup_maps = _ROLLUP_MAPS if maps else ""
    return f"""
units AS NOT MATERIALIZED (
    SELECT FALSE AS raw, r.node_id, r.bucket_start AS t, r.executions AS n, r.successes AS s,
           r.blocked AS bl, r.durations AS d, r.quality_scores AS q, r.session_keys AS sk,
           r.user_keys AS uk, r.last_executed_at AS last_at{rollup_maps}
    FROM pattern_execution_rollups r
    WHERE {rollup_scope} AND r.bucket_start >= $4::timestamptz AND r.bucket_start < $5::timestamptz
    UNION ALL
    {raw_unit}
    FROM pattern_executions e
    WHERE {raw_scope} AND e.executed_at >= $2::timestamptz AND e.executed_at < $4::timestamptz
    UNION ALL
    {raw_unit}
    FROM pattern_executions e
    WHERE {raw_scope} AND e.executed_at >= $5::timestamptz AND e.executed_at < $3::timestamptz
)"""  # noqa: S608 - fragments are constants


_PATTERN_UNITS = _units_cte("r.pattern_id = $1::text", "e.pattern_id = $1::text")
_PATTERN_UNITS_WITH_MAPS = _units_cte("r.pattern_id = $1::text", "e.pattern_id = $1::text", maps=True)
_NODE_UNITS = _units_cte("r.node_id = ANY($1::uuid[])", "e.node_id = ANY($1::uuid[])")

ANALYTICS_SQL = f"""
WITH {_PATTERN_UNITS}, inner_split_hours AS (
    -- hours cut by a boundary between two trend periods: their raw rows' times (index only)
    SELECT to_timestamp($6::bigint - j * $8::bigint) AS b
    FROM generate_series(1, $9::int - 1) AS j
    WHERE $10::boolean AND $7::boolean
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
    -- per unit, in the same order: its time, its count, whether it is a raw row
    coalesce(string_agg(timestamptz_send(t), ''::bytea), ''::bytea) AS unit_times,
    coalesce(string_agg(int4send(n), ''::bytea), ''::bytea) AS unit_counts,
    coalesce(string_agg(CASE WHEN raw THEN '\\x01'::bytea ELSE '\\x00'::bytea END, ''::bytea), ''::bytea)
        AS unit_raw,
    (SELECT coalesce(string_agg(timestamptz_send(e.executed_at), ''::bytea), ''::bytea)
     FROM inner_split_hours h
     JOIN pattern_executions e
       ON e.pattern_id = $1::text AND e.executed_at >= h.b AND e.executed_at < h.b + interval '1 hour') AS split_times,
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
       coalesce(string_agg(d, ''::bytea), ''::bytea) AS durations,
       coalesce(string_agg(q, ''::bytea), ''::bytea) AS quality_scores
FROM units GROUP BY node_id
"""  # noqa: S608 - fragments are constants


@dataclass(frozen=True)
class ExecutionRange:
    """What a query reads: executions in [start, end), the whole hours in [rollups_from, rollups_to)
    from rollups (both ``end`` to read everything raw)."""

    start: datetime
    end: datetime
    rollups_from: datetime
    rollups_to: datetime

    def args(self) -> tuple[Any, ...]:
        return (self.start, self.end, self.rollups_from, self.rollups_to)


@dataclass(frozen=True)
class TrendPeriods:
    """The trend periods of a window, anchored at its end (see ``analytics.windows``)."""

    end_hour_epoch: int
    end_splits_hour: bool
    period_s: int
    periods: int


@dataclass(frozen=True)
class WindowRow:
    """One pattern's executions in a window: counts summed, values packed (see the module's docstring)."""

    known: bool  # the pattern exists
    executions: int
    successes: int
    blocked: int
    durations: bytes  # float8 each
    quality_scores: bytes  # float8 each
    session_keys: bytes  # int8 each
    user_keys: bytes  # int8 each
    last_at: datetime | None
    unit_times: bytes  # timestamptz each: per unit, its time
    unit_counts: bytes  # int4 each: per unit, its executions
    unit_raw: bytes  # one byte each: per unit, 1 for a raw row
    split_times: bytes  # timestamptz each: executions in hours cut by a boundary between two periods
    first_ever: datetime | None


async def fetch_window(
    conn: asyncpg.Connection,
    pattern_id: str,
    scan: ExecutionRange,
    periods: TrendPeriods,
    *,
    use_rollups: bool = True,
) -> WindowRow:
    row = await conn.fetchrow(
        ANALYTICS_SQL,
        pattern_id,
        *scan.args(),
        periods.end_hour_epoch,
        periods.end_splits_hour,
        periods.period_s,
        periods.periods,
        use_rollups,
    )
    return row_as(WindowRow, row)


async def fetch_distribution(
    conn: asyncpg.Connection, pattern_id: str, scan: ExecutionRange
) -> dict[str, dict[str, int]]:
    """``{dimension: {key: executions}}``; empty keys mean "none" (no tool, extension or user)."""
    rows = await conn.fetch(DISTRIBUTION_SQL, pattern_id, *scan.args())
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
    conn: asyncpg.Connection, node_ids: list[uuid.UUID], scan: ExecutionRange
) -> dict[uuid.UUID, NodeSample]:
    """Samples of the given versions in ``scan`` (a version with no executions is absent)."""
    rows = await conn.fetch(NODE_SAMPLES_SQL, node_ids, *scan.args())
    return {row["node_id"]: row_as(NodeSample, row) for row in rows}
