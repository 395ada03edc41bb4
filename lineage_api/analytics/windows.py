"""Time windows and trend periods.

A window is ``[end - days, end)``; ``end`` is the request's ``as_of`` (default: now). Its trend
periods have equal length and are anchored at ``end`` (the last period ends at ``end``), so no
period is partial and a half-finished current day cannot look like a decline: windows of one day
use hourly periods, longer windows daily periods.

Rollups are per UTC hour. When ``end`` is not on a whole hour, the hours holding the window's
start and end are read raw, and the hours holding a boundary between two periods
(``floor_hour(end) - j * period``) are counted raw for the trend series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import AfterValidator

WindowType = Literal["hourly", "daily", "weekly", "monthly", "quarterly", "yearly"]

# The original service's window lengths per type.
WINDOW_DAYS: dict[str, int] = {
    "hourly": 1,
    "daily": 1,
    "weekly": 7,
    "monthly": 30,
    "quarterly": 90,
    "yearly": 365,
}
HOUR_S = 3600
DAY_S = 86400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US_PER_HOUR = HOUR_S * 1_000_000
_US_PER_DAY = DAY_S * 1_000_000
# PostgreSQL's binary timestamptz: int8 microseconds since 2000-01-01 UTC.
_PG_EPOCH_US = 946_684_800 * 1_000_000


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    type: str
    days: int
    period_s: int  # trend period length in seconds (a whole number of hours)
    periods: int

    @property
    def seconds(self) -> int:
        return self.days * DAY_S

    @property
    def end_hour_epoch(self) -> int:
        """Epoch seconds of the UTC hour containing ``end``."""
        return _epoch_us(self.end) // _US_PER_HOUR * HOUR_S

    def period_counts(
        self,
        unit_times: NDArray[np.int64],
        unit_counts: NDArray[np.int64],
        unit_raw: NDArray[np.bool_],
        split_times: NDArray[np.int64],
    ) -> list[int]:
        """Executions per period from units (epoch µs) and the raw times of the split hours.

        A rollup hour cut by a period boundary is left out: ``split_times`` holds its rows.
        """
        start_us, period_us = _epoch_us(self.start), self.period_s * 1_000_000
        keep = np.ones(unit_times.size, dtype=np.bool_)
        if self.end_splits_hour:
            end_hour_us = self.end_hour_epoch * 1_000_000
            keep = unit_raw | ((end_hour_us - unit_times) % period_us != 0)
        counts = np.bincount(
            (unit_times[keep] - start_us) // period_us, weights=unit_counts[keep], minlength=self.periods
        )
        counts += np.bincount((split_times - start_us) // period_us, minlength=self.periods)
        return [int(c) for c in counts[: self.periods]]

    @property
    def whole_hours(self) -> tuple[datetime, datetime]:
        """The first and the end of the whole UTC hours inside the window (what rollups cover)."""
        hour = timedelta(hours=1)
        first = _EPOCH + hour * -(-_epoch_us(self.start) // _US_PER_HOUR)
        end = _EPOCH + hour * (_epoch_us(self.end) // _US_PER_HOUR)
        return first, max(first, end)

    @property
    def end_splits_hour(self) -> bool:
        """True when ``end`` (and so every period boundary) falls inside an hour bucket."""
        return _epoch_us(self.end) % _US_PER_HOUR != 0


def _epoch_us(t: datetime) -> int:
    return (t - _EPOCH) // timedelta(microseconds=1)


def aware_utc(t: datetime | None) -> datetime:
    """``t`` as an aware UTC datetime (naive means UTC); now when None."""
    if t is None:
        return datetime.now(UTC)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


AS_OF_MIN = datetime(1980, 1, 1, tzinfo=UTC)
AS_OF_MAX = datetime(9000, 1, 1, tzinfo=UTC)


def _check_as_of(value: datetime) -> datetime:
    """Reject window ends whose window cannot be represented (a 422 naming the range, not a 500)."""
    try:
        aware = aware_utc(value)
    except OverflowError:
        aware = AS_OF_MIN - timedelta(days=1)
    if not AS_OF_MIN <= aware < AS_OF_MAX:
        raise ValueError(f"as_of must be between {AS_OF_MIN:%Y-%m-%d} and {AS_OF_MAX:%Y-%m-%d}")
    return value


AsOf = Annotated[datetime, AfterValidator(_check_as_of)]


def resolve_window(window_type: str, time_window_days: int | None, as_of: datetime | None) -> Window:
    """The window for a request; a custom ``time_window_days`` makes the type "daily"."""
    if time_window_days is not None:
        days, wtype = time_window_days, "daily"
    else:
        days, wtype = WINDOW_DAYS[window_type], window_type
    end = aware_utc(as_of)
    period_s = HOUR_S if days <= 1 else DAY_S
    return Window(
        start=end - timedelta(days=days),
        end=end,
        type=wtype,
        days=days,
        period_s=period_s,
        periods=days * DAY_S // period_s,
    )


def single_period_window(days: int, as_of: datetime | None) -> Window:
    """A window with one period (no inner boundaries): for the feedback loop's samples."""
    end = aware_utc(as_of)
    return Window(
        start=end - timedelta(days=days), end=end, type="daily", days=days, period_s=days * DAY_S, periods=1
    )


def pg_timestamps_us(packed: bytes) -> NDArray[np.int64]:
    """Packed binary timestamptz values (timestamptz_send) as Unix epoch microseconds."""
    return np.frombuffer(packed, dtype=">i8").astype(np.int64) + _PG_EPOCH_US


def peak_daily(times_us: NDArray[np.int64], counts: NDArray[np.int64]) -> int:
    """The most executions on one UTC date (hour units never straddle a date)."""
    if not times_us.size:
        return 0
    _, day_index = np.unique(times_us // _US_PER_DAY, return_inverse=True)
    return int(np.bincount(day_index, weights=counts).max())
