"""Trend of a pattern's usage: executions per period, a least-squares line, and a class.

Rules, in order (``q`` = a quarter of the periods, at least one):

0. fewer than ``min_sample_size`` executions in the window: ``insufficient_data`` (a class and a
   growth figure from a handful of executions mean nothing: 1 then 6 executions would read
   "+500%"); ``growth_percentage``, ``velocity`` and ``acceleration`` are then 0.0 and the slope
   test is not run, ``sample_size`` says how many there are;
1. no executions in the window: ``abandoned`` when the pattern was used before it, else ``stable``;
2. ``abandoned``: nothing in the last ``q`` periods (the usage stopped);
3. ``emerging``: nothing in the first ``q`` periods and never used before the window (it started);
4. ``growing`` / ``declining``: the slope is significant (``linregress`` p < 0.05, which needs 3+
   periods) and the fitted line changes by at least 10 % of the mean level across the window;
5. otherwise ``stable``.

``velocity`` is the OLS slope of counts against period index (executions per period, per period);
``acceleration`` the slope of the second half minus that of the first (4+ periods);
``growth_percentage`` compares the last ``q`` periods with the first ``q``
(``(last - first) / first * 100``, 100 when only ``last`` is non-zero); ``confidence_score`` is a
data-volume score ``0.7 * min(n / 100, 1) + 0.3 * min(periods / 10, 1)``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from traceability.lineage_api.analytics.models import TrendAnalysis, TrendType

SLOPE_SIGNIFICANCE = 0.05
MIN_RELATIVE_CHANGE = 0.10
MIN_PERIODS_FOR_SLOPE_TEST = 3
MIN_PERIODS_FOR_ACCELERATION = 4


def _slope(counts: np.ndarray) -> float:
    if counts.size < 2:
        return 0.0
    return float(stats.linregress(np.arange(counts.size, dtype=float), counts).slope)


def growth_percentage(counts: list[int]) -> float:
    q = max(1, len(counts) // 4)
    first, last = sum(counts[:q]), sum(counts[-q:])
    if first == 0:
        return 100.0 if last > 0 else 0.0
    return (last - first) / first * 100.0


def confidence(total: int, periods: int) -> float:
    if total == 0:
        return 0.0
    return 0.7 * min(total / 100, 1.0) + 0.3 * min(periods / 10, 1.0)


def _classify(
    counts: list[int], p_value: float | None, relative_change: float | None, *, used_before_window: bool
) -> TrendType:
    """Rules 1 to 5 of the module's docstring."""
    k, total = len(counts), sum(counts)
    q = max(1, k // 4)
    if total == 0:
        return "abandoned" if used_before_window else "stable"
    if k >= 2 and sum(counts[-q:]) == 0:
        return "abandoned"
    if k >= 2 and sum(counts[:q]) == 0 and not used_before_window:
        return "emerging"
    if p_value is not None and relative_change is not None and p_value < SLOPE_SIGNIFICANCE:
        if relative_change >= MIN_RELATIVE_CHANGE:
            return "growing"
        if relative_change <= -MIN_RELATIVE_CHANGE:
            return "declining"
    return "stable"


def analyze_trend(
    counts: list[int], *, used_before_window: bool, min_sample_size: int, period_seconds: int
) -> TrendAnalysis:
    """Classify a series of per-period execution counts (oldest first)."""
    y = np.asarray(counts, dtype=float)
    k, total = len(counts), int(y.sum())
    velocity = acceleration = growth = 0.0
    p_value: float | None = None
    r_squared: float | None = None
    relative_change: float | None = None
    trend_type: TrendType = "insufficient_data"
    if total >= min_sample_size:
        velocity = _slope(y)
        if k >= MIN_PERIODS_FOR_ACCELERATION:
            half = k // 2
            acceleration = _slope(y[half:]) - _slope(y[:half])
        if k >= MIN_PERIODS_FOR_SLOPE_TEST and total > 0:
            fit = stats.linregress(np.arange(k, dtype=float), y)
            p_value = float(fit.pvalue) if np.isfinite(fit.pvalue) else 1.0
            r_squared = float(fit.rvalue**2)
            relative_change = velocity * (k - 1) / float(y.mean())
        growth = growth_percentage(counts)
        trend_type = _classify(counts, p_value, relative_change, used_before_window=used_before_window)
    return TrendAnalysis(
        trend_type=trend_type,
        velocity=velocity,
        acceleration=acceleration,
        growth_percentage=growth,
        confidence_score=confidence(total, k),
        slope_p_value=p_value,
        r_squared=r_squared,
        relative_change=relative_change,
        period_seconds=period_seconds,
        period_counts=list(counts),
        sample_size=total,
        min_sample_size=min_sample_size,
    )
