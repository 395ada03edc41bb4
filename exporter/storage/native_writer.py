"""Idempotent writes of Claude Code's log events and metric points (the join is in ``native_join``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg

from traceability.exporter.codec.native_records import LogRecordData, MetricPointData
from traceability.exporter.storage.errors import DATA_ERRORS
from traceability.exporter.storage.native_join import (
    EVENTS,
    LINK_AND_JOIN_TURNS,
    METRICS,
    copy_insert,
    lock_prompts,
    staged_insert,
)
from traceability.exporter.storage.native_mapping import (
    EVENT_COLUMNS,
    METRIC_COLUMNS,
    TraceLink,
    event_row,
    metric_row,
    trace_links,
)
from traceability.exporter.storage.values import resource_json
from traceability.exporter.storage.writer import RetryPolicy, run_with_retry

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class NativeWriteResult(Generic[T]):
    stored: int = 0
    inserted: int = 0
    rejected: list[tuple[T, str]] = field(default_factory=list)


PoolGetter = Callable[[], Awaitable[asyncpg.Pool]]


class NativeWriter:
    """Writes log events and metric points; ``pool`` is a pool or a coroutine that returns one."""

    def __init__(
        self,
        pool: asyncpg.Pool | PoolGetter,
        retry: RetryPolicy | None = None,
        *,
        capture_prompts: bool = False,
    ) -> None:
        self._pool = pool
        self.retry = retry or RetryPolicy()
        self.capture_prompts = capture_prompts

    async def write_logs(self, records: Sequence[LogRecordData]) -> NativeWriteResult[LogRecordData]:
        result: NativeWriteResult[LogRecordData] = NativeWriteResult()
        if records:
            await self._splitting(list(records), result, self._logs_once)
        return result

    async def write_metrics(self, points: Sequence[MetricPointData]) -> NativeWriteResult[MetricPointData]:
        result: NativeWriteResult[MetricPointData] = NativeWriteResult()
        if points:
            await self._splitting(list(points), result, self._metrics_once)
        return result

    async def _splitting(
        self,
        items: list[Any],
        result: NativeWriteResult[Any],
        once: Callable[[asyncpg.Connection, list[Any]], Awaitable[int]],
    ) -> None:
        """One transaction; a batch PostgreSQL rejects as data is split so every good record is stored."""
        try:
            result.inserted += await run_with_retry(self._pool, self.retry, lambda conn: once(conn, items))
            result.stored += len(items)
        except DATA_ERRORS as exc:
            if len(items) == 1:
                result.rejected.append((items[0], f"{type(exc).__name__}: {exc}"))
                log.warning("record rejected by the database: %s", exc)
                return
            middle = len(items) // 2
            await self._splitting(items[:middle], result, once)
            await self._splitting(items[middle:], result, once)

    async def _logs_once(self, conn: asyncpg.Connection, records: list[LogRecordData]) -> int:
        resources: dict[int, str | None] = {}
        rows = []
        for record in records:
            key = id(record.resource)
            if key not in resources:
                resources[key] = resource_json(record.resource)
            rows.append(event_row(record, self.capture_prompts, resources[key]))
        links = trace_links(rows)
        try:  # new events (the common case): straight COPY, no savepoint
            return await self._logs_transaction(conn, rows, links, replay=False)
        except asyncpg.UniqueViolationError:
            pass  # some are stored already (a replay): the transaction again, skipping those
        return await self._logs_transaction(conn, rows, links, replay=True)

    @staticmethod
    async def _logs_transaction(
        conn: asyncpg.Connection, rows: list[tuple[Any, ...]], links: list[TraceLink], *, replay: bool
    ) -> int:
        """The prompts' locks, the events, the links and the join, in one transaction."""
        async with conn.transaction():
            if links:
                await lock_prompts(conn, [link.prompt_id for link in links])
            if replay:
                inserted = await staged_insert(conn, EVENTS, "_stage_claude_code_events", EVENT_COLUMNS, rows)
            else:
                await conn.copy_records_to_table("claude_code_events", records=rows, columns=EVENT_COLUMNS)
                inserted = len(rows)
            if links:
                await conn.execute(
                    LINK_AND_JOIN_TURNS,
                    [link.native_trace_id for link in links],
                    [link.prompt_id for link in links],
                    [link.session_id for link in links],
                )
        return inserted

    async def _metrics_once(self, conn: asyncpg.Connection, points: list[MetricPointData]) -> int:
        resources: dict[int, str | None] = {}
        rows = []
        for point in points:
            key = id(point.resource)
            if key not in resources:
                resources[key] = resource_json(point.resource)
            rows.append(metric_row(point, resources[key]))
        async with conn.transaction():
            return await copy_insert(conn, METRICS, "_stage_claude_code_metric_points", METRIC_COLUMNS, rows)
