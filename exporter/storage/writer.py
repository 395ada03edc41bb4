"""Idempotent bulk writes of mapped spans, with retry.

One transaction per batch: the hook rows by COPY (a replay, some rows present, COPYs them into a
per-connection staging table and inserts the missing ones), then the trace rows through a staging
table and ``INSERT ... SELECT ... ON CONFLICT``. The trace rows come last because their session
triggers lock the session until commit; the hook rows' key to them is checked at commit. A root
span completes its trace's placeholder row; a replayed batch changes nothing. Connection failures
are retried with exponential backoff and full jitter; a batch PostgreSQL rejects as data is split
in halves so every good span is still stored.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg

from traceability.exporter.codec.records import SpanRecord
from traceability.exporter.storage.errors import DATA_ERRORS, TRANSIENT_DB_ERRORS
from traceability.exporter.storage.limits import resolve_max_span_stored_bytes
from traceability.exporter.storage.mapping import (
    HOOK_COLUMNS,
    HOOK_JSON_COLUMNS,
    TRACE_COLUMNS,
    TRACE_JSON_COLUMNS,
    MappedBatch,
    map_spans,
)
from traceability.exporter.storage.native_join import (
    copy_native_spans,
    join_turns,
    lock_prompts,
    lock_sessions,
)
from traceability.exporter.storage.native_mapping import NATIVE_SPAN_COLUMNS, is_native_span, native_span_row
from traceability.instrumentation import semconv as sc

log = logging.getLogger(__name__)

_TYPES = {
    "id": "uuid", "trace_id": "uuid", "correlation_id": "uuid", "root_id": "uuid", "parent_id": "uuid",
    "session_id": "uuid", "started_at": "timestamptz", "completed_at": "timestamptz",
    "duration_ms": "integer", "execution_order": "integer", "success": "boolean",
    "rag_query_performed": "boolean", "quality_check_performed": "boolean", "tags": "text[]",
    "tool_duration_ms": "double precision", "quality_score": "double precision",
}  # fmt: skip
# hook_executions.session_id is text (the raw id), unlike execution_traces.session_id (uuid).
_HOOK_TYPES = {**_TYPES, "session_id": "text"}
_PROMPT_ID = TRACE_COLUMNS.index("prompt_id")
_SESSION_ID = TRACE_COLUMNS.index("session_id")
_NATIVE_SESSION_ID = NATIVE_SPAN_COLUMNS.index("session_id")
_NATIVE_SPAN_TYPE = NATIVE_SPAN_COLUMNS.index("span_type")
# Deferrable since migration 0017: the hook rows are written before their traces (see _transaction).
_DEFER_TRACE_KEY = "SET CONSTRAINTS hook_executions_trace_id_fkey DEFERRED"


def _stage_ddl(name: str, columns: Sequence[str], types: dict[str, str], extra: str = "") -> str:
    cols = ", ".join(f"{c} {types.get(c, 'text')}" for c in columns)
    return f"CREATE TEMP TABLE IF NOT EXISTS {name} ({cols}{extra}) ON COMMIT DELETE ROWS"


def _select_list(columns: Sequence[str], json_columns: frozenset[str]) -> str:
    return ", ".join(f"{c}::jsonb" if c in json_columns else c for c in columns)


_STAGE_TRACE = _stage_ddl("_stage_trace", TRACE_COLUMNS, _TYPES, ", is_root boolean")
_STAGE_HOOK = _stage_ddl("_stage_hook", HOOK_COLUMNS, _HOOK_TYPES)
_TRACE_COLS = ", ".join(TRACE_COLUMNS)
_TRACE_SELECT = _select_list(TRACE_COLUMNS, TRACE_JSON_COLUMNS)
# A root completes its placeholder row. A root sent again is another emission of the same span (a
# session's root: every process of a resumed session emits it at its SessionEnd): the row covers every
# emission (earliest start, latest end) and takes its other columns from the one that ended last, in
# whatever order they arrive. A replay changes nothing.
_OLD, _NEW = "execution_traces", "EXCLUDED"
_FIRST = f"NOT {_OLD}.root_received"
_LATER = f"({_FIRST} OR {_NEW}.completed_at > {_OLD}.completed_at)"
_TRACE_UPDATE = ", ".join(
    f"{c} = CASE WHEN {_LATER} THEN {_NEW}.{c} ELSE {_OLD}.{c} END"
    for c in TRACE_COLUMNS
    if c not in ("id", "started_at", "duration_ms")
)
_START = f"CASE WHEN {_FIRST} THEN {_NEW}.started_at ELSE LEAST({_OLD}.started_at, {_NEW}.started_at) END"
_END = f"CASE WHEN {_LATER} THEN {_NEW}.completed_at ELSE {_OLD}.completed_at END"
_DURATION = (
    f"CASE WHEN {_FIRST} THEN {_NEW}.duration_ms ELSE "
    f"LEAST(round(extract(epoch FROM ({_END}) - ({_START})) * 1000), 2147483647)::integer END"
)
UPSERT_ROOTS = f"""
INSERT INTO execution_traces ({_TRACE_COLS}, root_received)
SELECT {_TRACE_SELECT}, TRUE FROM _stage_trace WHERE is_root
ON CONFLICT (id) DO UPDATE SET {_TRACE_UPDATE}, started_at = {_START}, duration_ms = {_DURATION},
    root_received = TRUE, updated_at = now()
WHERE {_LATER} OR {_NEW}.started_at < {_OLD}.started_at
"""  # noqa: S608 - identifiers are constants of this module
_BEGIN_WITH_TRACES = f"{_DEFER_TRACE_KEY}; {_STAGE_TRACE}"
INSERT_PLACEHOLDERS = f"""
INSERT INTO execution_traces ({_TRACE_COLS}, root_received)
SELECT {_TRACE_SELECT}, FALSE FROM _stage_trace WHERE NOT is_root
ON CONFLICT (id) DO NOTHING
"""  # noqa: S608
INSERT_HOOKS = f"""
INSERT INTO hook_executions ({", ".join(HOOK_COLUMNS)})
SELECT {_select_list(HOOK_COLUMNS, HOOK_JSON_COLUMNS)} FROM _stage_hook
ON CONFLICT (id) DO NOTHING
"""  # noqa: S608


@dataclass
class WriteResult:
    """What one write did: spans stored (new or already present) and spans rejected with why."""

    stored: int = 0
    inserted_hook_rows: int = 0
    rejected: list[tuple[SpanRecord, str]] = field(default_factory=list)


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter; ``deadline_s`` bounds the whole write."""

    initial_s: float = 0.1
    max_s: float = 5.0
    deadline_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_s, self.initial_s * 2**attempt))


PoolGetter = Callable[[], Awaitable[asyncpg.Pool]]
R = TypeVar("R")


async def run_with_retry(
    pool: asyncpg.Pool | PoolGetter, retry: RetryPolicy, work: Callable[[asyncpg.Connection], Awaitable[R]]
) -> R:
    """``work`` on a pooled connection, retried on connection errors until ``retry.deadline_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry.deadline_s
    attempt = 0
    while True:
        try:
            resolved = pool if isinstance(pool, asyncpg.Pool) else await pool()
            async with resolved.acquire() as conn:
                return await work(conn)
        except TRANSIENT_DB_ERRORS as exc:
            delay = retry.delay(attempt)
            if loop.time() + delay > deadline:
                raise
            log.info("database write failed (%s); retrying in %.2fs", exc, delay)
            await asyncio.sleep(delay)
            attempt += 1


class SpanWriter:
    """Writes SpanRecords to PostgreSQL. ``pool`` is a pool or a coroutine that returns one."""

    def __init__(
        self,
        pool: asyncpg.Pool | PoolGetter,
        retry: RetryPolicy | None = None,
        max_span_bytes: int | None = None,
        *,
        capture_prompts: bool = False,
    ) -> None:
        self._pool = pool
        self.retry = retry or RetryPolicy()
        self.max_span_bytes = resolve_max_span_stored_bytes(max_span_bytes)
        self.capture_prompts = capture_prompts  # for the prompt text of Claude Code's own spans

    @property
    def pool(self) -> asyncpg.Pool | PoolGetter:
        return self._pool

    async def write(self, spans: Sequence[SpanRecord]) -> WriteResult:
        """Store ``spans`` exactly once each; raise the last connection error when the deadline passes."""
        result = WriteResult()
        if spans:
            await self._write_splitting(list(spans), result)
        return result

    async def _write_splitting(self, spans: list[SpanRecord], result: WriteResult) -> None:
        batch = map_spans([s for s in spans if not is_native_span(s)], self.max_span_bytes)
        native = [native_span_row(s, self.capture_prompts) for s in spans if is_native_span(s)]
        try:
            if batch.roots or batch.placeholders or batch.hooks or native:
                result.inserted_hook_rows += await run_with_retry(
                    self._pool, self.retry, lambda conn: self._write_once(conn, batch, native)
                )
        except DATA_ERRORS as exc:
            if len(spans) == 1:
                result.rejected.append((spans[0], f"{type(exc).__name__}: {exc}"))
                log.warning("span %s rejected by the database: %s", spans[0].span_id, exc)
                return
            middle = len(spans) // 2
            await self._write_splitting(spans[:middle], result)
            await self._write_splitting(spans[middle:], result)
            return
        result.stored += len(spans) - len(batch.rejected)
        if batch.rejected:
            result.rejected.extend(batch.rejected)
            for span, reason in batch.rejected:
                log.warning("span %s rejected: %s", span.span_id, reason)

    @staticmethod
    async def _write_once(conn: asyncpg.Connection, batch: MappedBatch, native: list[tuple[Any, ...]]) -> int:
        traces = (*batch.roots, *batch.placeholders)
        prompts = sorted({r.values[_PROMPT_ID] for r in traces} - {None})
        sessions = {str(r.values[_SESSION_ID]) for r in traces if r.values[_SESSION_ID] is not None} | {
            row[_NATIVE_SESSION_ID]
            for row in native
            if row[_NATIVE_SPAN_TYPE] == sc.CC_SPAN_INTERACTION and row[_NATIVE_SESSION_ID] is not None
        }
        try:  # the common case, new spans: the hook rows go straight in by COPY
            return await SpanWriter._transaction(conn, batch, native, prompts, sorted(sessions), replay=False)
        except asyncpg.UniqueViolationError:  # some hook rows exist already (a replay): all again, staged
            return await SpanWriter._transaction(conn, batch, native, prompts, sorted(sessions), replay=True)

    @staticmethod
    async def _transaction(
        conn: asyncpg.Connection,
        batch: MappedBatch,
        native: list[tuple[Any, ...]],
        prompts: list[str],
        sessions: list[str],
        *,
        replay: bool,
    ) -> int:
        """One batch in one transaction. Advisory locks in one order everywhere: the prompts', then
        the sessions' (all at once, sorted); row locks only after them. The hook rows, new rows
        that lock nothing (their trace key is checked at commit), go in before the session locks,
        so a batch waiting on a busy session has its COPY done; then the native spans and the trace
        rows, whose triggers refresh the session."""
        async with conn.transaction():
            has_traces = bool(batch.roots or batch.placeholders)
            await conn.execute(_BEGIN_WITH_TRACES if has_traces else _DEFER_TRACE_KEY)  # one round trip
            if prompts:  # before any row lock (see native_writer)
                await lock_prompts(conn, prompts)
            inserted = await SpanWriter._write_hooks(conn, [r.values for r in batch.hooks], replay=replay)
            if sessions:  # after the prompts' locks, as the join's refresh takes them
                await lock_sessions(conn, sessions)
            if native:
                await copy_native_spans(conn, native)
            if has_traces:
                await SpanWriter._write_traces(conn, batch)
            if prompts:
                await join_turns(conn, prompts)
            return inserted

    @staticmethod
    async def _write_hooks(conn: asyncpg.Connection, records: list[tuple[Any, ...]], *, replay: bool) -> int:
        if not records:
            return 0
        if not replay:
            await conn.copy_records_to_table("hook_executions", records=records, columns=HOOK_COLUMNS)
            return len(records)
        await conn.execute(_STAGE_HOOK)
        await conn.copy_records_to_table("_stage_hook", records=records, columns=HOOK_COLUMNS)
        status = await conn.execute(INSERT_HOOKS)
        return int(status.split()[-1])

    @staticmethod
    async def _write_traces(conn: asyncpg.Connection, batch: MappedBatch) -> None:
        """Through ``_stage_trace`` (created at the start of the transaction)."""
        # sorted ids: concurrent batches touching the same traces lock them in one order
        trace_rows = sorted(
            [(*r.values, True) for r in batch.roots] + [(*r.values, False) for r in batch.placeholders],
            key=lambda row: row[0],
        )
        await conn.copy_records_to_table(
            "_stage_trace", records=trace_rows, columns=[*TRACE_COLUMNS, "is_root"]
        )
        statements = [UPSERT_ROOTS] if batch.roots else []
        if batch.placeholders:
            statements.append(INSERT_PLACEHOLDERS)
        await conn.execute(";".join(statements))  # one round trip
