"""analytics/compute: one pattern's usage, success, performance, trend and distribution in a window.

An execution is a tool use linked to the pattern (a ``pattern_executions`` row): success = the
tool call succeeded and was not blocked; time = its duration (Claude Code's ``duration_ms``);
quality = the enforcer's score; context = the session; user = the trace's user id. Cost and
tokens are those of the distinct turns the executions happened in (Claude Code's own telemetry).
"""

from __future__ import annotations

import time

import asyncpg

from traceability.lineage_api.analytics.aggregate import WindowAggregate, scan_range, window_aggregate
from traceability.lineage_api.analytics.models import (
    AnalyticsRequest,
    AnalyticsResponse,
    CostMetrics,
    Distribution,
    PerformanceMetrics,
    SuccessMetrics,
    TimeWindow,
    TrendAnalysis,
    UsageMetrics,
)
from traceability.lineage_api.analytics.statistics import distinct_count, float_values, spread
from traceability.lineage_api.analytics.trend import analyze_trend
from traceability.lineage_api.analytics.windows import Window, resolve_window
from traceability.lineage_api.store import analytics as store_analytics
from traceability.lineage_api.store import sessions
from traceability.lineage_api.store.errors import NotFound
from traceability.lineage_api.store.snapshot import read_snapshot

NO_KEY_LABEL = "(none)"  # distribution key for executions without a tool, file extension or user


def _usage(agg: WindowAggregate, window: Window) -> UsageMetrics:
    n = agg.totals.executions
    days = max(window.seconds / 86400, 1.0)
    since_last = (window.end - agg.totals.last_at).total_seconds() / 3600 if agg.totals.last_at else None
    return UsageMetrics(
        total_executions=n,
        executions_per_day=n / days,
        executions_per_week=n / max(days / 7, 1.0),
        unique_contexts=distinct_count(agg.totals.session_keys),
        unique_users=distinct_count(agg.totals.user_keys),
        peak_daily_usage=agg.peak_daily,
        last_execution_at=agg.totals.last_at,
        time_since_last_use_hours=since_last,
    )


def _success(agg: WindowAggregate) -> SuccessMetrics:
    n = agg.totals.executions
    scores = float_values(agg.totals.quality_scores)
    return SuccessMetrics(
        success_rate=agg.totals.successes / n if n else 0.0,
        error_rate=(n - agg.totals.successes) / n if n else 0.0,
        avg_quality_score=float(scores.mean()) if scores.size else 0.0,
        successful_executions=agg.totals.successes,
        failed_executions=n - agg.totals.successes,
        blocked_executions=agg.totals.blocked,
        quality_scored_executions=int(scores.size),
    )


def _performance(agg: WindowAggregate) -> PerformanceMetrics:
    s = spread(float_values(agg.totals.durations))
    return PerformanceMetrics(
        measured_executions=s.count if s else 0,
        avg_execution_time_ms=s.mean if s else None,
        p50_execution_time_ms=s.p50 if s else None,
        p95_execution_time_ms=s.p95 if s else None,
        p99_execution_time_ms=s.p99 if s else None,
        min_execution_time_ms=s.minimum if s else None,
        max_execution_time_ms=s.maximum if s else None,
        std_execution_time_ms=s.std if s else None,
    )


def _trend(agg: WindowAggregate, window: Window, min_sample_size: int) -> TrendAnalysis:
    first_ever = agg.totals.first_ever
    return analyze_trend(
        agg.period_counts,
        used_before_window=first_ever is not None and first_ever < window.start,
        min_sample_size=min_sample_size,
        period_seconds=window.period_s,
    )


def _distribution(raw: dict[str, dict[str, int]]) -> Distribution:
    def dim(name: str) -> dict[str, int]:
        return {(k or NO_KEY_LABEL): v for k, v in sorted(raw.get(name, {}).items())}

    return Distribution(
        by_version=dim("by_version"),
        by_tool=dim("by_tool"),
        by_file_extension=dim("by_file_extension"),
        by_user=dim("by_user"),
        by_hour_of_day=dict(sorted(raw.get("by_hour_of_day", {}).items(), key=lambda kv: int(kv[0]))),
        by_weekday=dict(sorted(raw.get("by_weekday", {}).items(), key=lambda kv: int(kv[0]))),
    )


def quality_score(total: int, window_days: float) -> float:
    """The original's analytics quality score: more data and a longer window give more weight."""
    return 0.7 * min(total / 100, 1.0) + 0.3 * min(window_days / 30, 1.0)


async def compute_analytics(
    conn: asyncpg.Connection, req: AnalyticsRequest, *, default_min_sample_size: int
) -> AnalyticsResponse:
    """The analytics of ``req.pattern_id``; NotFound when no version of it exists.

    With no executions every rate and mean is 0.0 (not null) and its sample size says 0, so a
    client formatting the figures (examples/example4_analytics.py) works on any tracked pattern.
    """
    min_sample = req.min_sample_size if req.min_sample_size is not None else default_min_sample_size
    started = time.perf_counter()
    window = resolve_window(req.time_window_type, req.time_window_days, req.as_of)
    distribution = None
    async with read_snapshot(conn):
        agg = await window_aggregate(conn, req.pattern_id, window, use_rollups=req.use_rollups)
        if not agg.totals.known:
            raise NotFound(f"pattern '{req.pattern_id}' not found", pattern_id=req.pattern_id)
        if req.include_distribution:
            scan = scan_range(window, use_rollups=req.use_rollups)
            distribution = _distribution(await store_analytics.fetch_distribution(conn, req.pattern_id, scan))
        cost = CostMetrics(
            **await sessions.pattern_turn_totals(conn, req.pattern_id, window.start, window.end)
        )
    elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
    return AnalyticsResponse(
        pattern_id=req.pattern_id,
        time_window=TimeWindow(
            start=window.start,
            end=window.end,
            type=window.type,
            days=window.days,
            period_seconds=window.period_s,
            periods=window.periods,
        ),
        usage_metrics=_usage(agg, window),
        success_metrics=_success(agg),
        performance_metrics=_performance(agg) if req.include_performance else None,
        trend_analysis=_trend(agg, window, min_sample) if req.include_trends else None,
        distribution=distribution,
        cost_metrics=cost,
        analytics_quality_score=quality_score(agg.totals.executions, window.days),
        total_data_points=agg.totals.executions,
        computation_time_ms=elapsed_ms,
        processing_time_ms=elapsed_ms,
    )
