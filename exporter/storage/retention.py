"""Retention: delete traces older than a cutoff, with their hook executions, in small batches.

Why batches and not one ``DELETE``: a single statement over months of spans holds its locks and
its WAL for minutes, bloats memory with the cascade's trigger queue, and stalls the collector's
inserts (each new hook row takes a key-share lock on its trace). Here every transaction deletes at
most ``batch_rows`` hook rows or one chunk of trace rows, with a short ``lock_timeout`` so a
transaction that would wait behind ingest gives up and is retried instead of queueing writers
behind it. Memory is bounded by one chunk of trace ids.

The cutoff is compared with ``execution_traces.started_at`` (indexed); a trace's hook executions
go with it, so no orphan or half-deleted trace is ever visible.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

log = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION_PART = re.compile(r"(\d+)\s*([smhdw])")

SELECT_OLD_TRACES = """
SELECT id FROM execution_traces WHERE started_at < $1 ORDER BY started_at LIMIT $2
"""
DELETE_HOOK_BATCH = """
DELETE FROM hook_executions WHERE id IN (
    SELECT id FROM hook_executions WHERE trace_id = ANY($1::uuid[]) LIMIT $2
)
"""
# started_at is checked again: a trace re-stamped since it was selected is kept.
DELETE_TRACES = "DELETE FROM execution_traces WHERE id = ANY($1::uuid[]) AND started_at < $2"
COUNT_OLD = """
SELECT (SELECT count(*) FROM execution_traces WHERE started_at < $1) AS traces,
       (SELECT count(*) FROM hook_executions h JOIN execution_traces t ON t.id = h.trace_id
         WHERE t.started_at < $1) AS hooks,
       (SELECT min(started_at) FROM execution_traces WHERE started_at < $1) AS oldest,
       (SELECT max(started_at) FROM execution_traces WHERE started_at < $1) AS newest
"""


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` or combinations such as ``1d12h``."""
    compact = text.strip().lower()
    parts = _DURATION_PART.findall(compact)
    if not parts or _DURATION_PART.sub("", compact).strip():
        raise ValueError(
            f"invalid duration {text!r}: use a number and a unit s/m/h/d/w, e.g. 30d, 12h, 1d12h"
        )
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be greater than zero")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class RetentionPlan:
    """What a run would delete (a dry run prints this)."""

    cutoff: datetime
    traces: int
    hook_executions: int
    oldest: datetime | None
    newest: datetime | None


@dataclass
class RetentionProgress:
    cutoff: datetime
    planned_traces: int
    traces_deleted: int = 0
    hook_executions_deleted: int = 0
    transactions: int = 0
    lock_timeouts: int = 0
    elapsed_s: float = 0.0


ProgressCallback = Callable[[RetentionProgress], None]


@dataclass(frozen=True)
class RetentionSettings:
    batch_rows: int = 5000  # hook rows per transaction
    trace_chunk: int = 1000  # trace ids handled per round (memory bound)
    lock_timeout_ms: int = 2000  # a transaction waiting longer on a lock gives up and retries
    pause_s: float = 0.0  # optional sleep between transactions, to leave room for ingest
    max_lock_retries: int = 50


def cutoff_for(older_than: timedelta, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - older_than


async def plan(conn: asyncpg.Connection, cutoff: datetime) -> RetentionPlan:
    row = await conn.fetchrow(COUNT_OLD, cutoff)
    assert row is not None
    return RetentionPlan(cutoff, int(row["traces"]), int(row["hooks"]), row["oldest"], row["newest"])


async def _short_tx(
    conn: asyncpg.Connection,
    settings: RetentionSettings,
    progress: RetentionProgress,
    sql: str,
    *args: object,
) -> int:
    """Run one DELETE in its own transaction with a lock timeout; retry when the timeout fires."""
    for attempt in range(settings.max_lock_retries):
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = {int(settings.lock_timeout_ms)}")
                status = await conn.execute(sql, *args)
            progress.transactions += 1
            if settings.pause_s:
                await asyncio.sleep(settings.pause_s)
            return int(status.split()[-1])
        except asyncpg.LockNotAvailableError:
            progress.lock_timeouts += 1
            await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
    raise TimeoutError(f"could not take row locks after {settings.max_lock_retries} attempts")


async def delete_older_than(
    conn: asyncpg.Connection,
    cutoff: datetime,
    settings: RetentionSettings | None = None,
    on_progress: ProgressCallback | None = None,
) -> RetentionProgress:
    """Delete every trace that started before ``cutoff`` and its hook executions; return the tally."""
    settings = settings or RetentionSettings()
    started = time.perf_counter()
    planned = await conn.fetchval("SELECT count(*) FROM execution_traces WHERE started_at < $1", cutoff)
    progress = RetentionProgress(cutoff=cutoff, planned_traces=int(planned))
    while True:
        ids: list[uuid.UUID] = [
            r["id"] for r in await conn.fetch(SELECT_OLD_TRACES, cutoff, settings.trace_chunk)
        ]
        if not ids:
            break
        while True:
            deleted = await _short_tx(conn, settings, progress, DELETE_HOOK_BATCH, ids, settings.batch_rows)
            progress.hook_executions_deleted += deleted
            if deleted < settings.batch_rows:
                break
            _report(progress, started, on_progress)
        # Hook rows written since the loop above (late spans) go with their trace by the FK cascade;
        # there are at most a few, so this transaction stays short.
        progress.traces_deleted += await _short_tx(conn, settings, progress, DELETE_TRACES, ids, cutoff)
        _report(progress, started, on_progress)
    progress.elapsed_s = time.perf_counter() - started
    return progress


def _report(progress: RetentionProgress, started: float, on_progress: ProgressCallback | None) -> None:
    progress.elapsed_s = time.perf_counter() - started
    if on_progress is not None:
        on_progress(progress)
