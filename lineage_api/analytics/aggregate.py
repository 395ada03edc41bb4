"""A window's executions of one pattern, read (``store.analytics``) and unpacked into what the metrics use."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import numpy as np

from traceability.lineage_api.analytics.windows import Window, peak_daily, pg_timestamps_us
from traceability.lineage_api.store import analytics as store
from traceability.lineage_api.store.analytics import ExecutionRange


def scan_range(window: Window, *, use_rollups: bool = True) -> ExecutionRange:
    """What to read for ``window``: its whole hours from rollups, or (without rollups) everything raw."""
    rollups_from, rollups_to = window.whole_hours if use_rollups else (window.end, window.end)
    return ExecutionRange(window.start, window.end, rollups_from, rollups_to)


@dataclass(frozen=True)
class WindowAggregate:
    """One pattern's executions in a window: the row read, and its units counted per trend period and day."""

    totals: store.WindowRow
    period_counts: list[int]
    peak_daily: int


async def window_aggregate(
    conn: asyncpg.Connection, pattern_id: str, window: Window, *, use_rollups: bool = True
) -> WindowAggregate:
    periods = store.TrendPeriods(
        window.end_hour_epoch, window.end_splits_hour, window.period_s, window.periods
    )
    row = await store.fetch_window(
        conn, pattern_id, scan_range(window, use_rollups=use_rollups), periods, use_rollups=use_rollups
    )
    unit_times = pg_timestamps_us(row.unit_times)
    unit_counts = np.frombuffer(row.unit_counts, dtype=">i4").astype(np.int64)
    unit_raw = np.frombuffer(row.unit_raw, dtype=np.uint8).astype(np.bool_)
    return WindowAggregate(
        totals=row,
        period_counts=window.period_counts(
            unit_times, unit_counts, unit_raw, pg_timestamps_us(row.split_times)
        ),
        peak_daily=peak_daily(unit_times, unit_counts),
    )
