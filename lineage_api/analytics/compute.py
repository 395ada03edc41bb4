"""analytics/compute: one pattern's usage, success, performance, trend and distribution in a window.

An execution is a tool use linked to the pattern (a ``pattern_executions`` row): success = the
tool call succeeded and was not blocked; time = its duration (Claude Code's ``duration_ms``);
quality = the enforcer's score; context = the session; user = the trace's user id. Cost and
tokens are those of the distinct turns the executions happened in (Claude Code's own telemetry).
"""

from __future__ import annotations

import time

import asyncpg

from traceability.lineage_api.analytics import queries
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
from traceability.lineage_api.store import sessions
from traceability.lineage_api.store.errors import NotFound

NO_KEY_LABEL = "(none)"  # distribution key for executions without a tool, file extension or user


def _usage(agg: queries.WindowAggregate, window: Window) -> UsageMetrics:
    n = agg.executions
    days = max(window.seconds / 86400, 1.0)
    since_last = (window.end - agg.last_at).total_seconds() / 3600 if agg.last_at else None
    return UsageMetrics(
        total_executions=n,
        executions_per_day=n / days,
        executions_per_week=n / max(days / 7, 1.0),
        unique_contexts=distinct_count(agg.session_keys),
        unique_users=distinct_count(agg.user_keys),
        peak_daily_usage=agg.peak_daily,
        last_execution_at=agg.last_at,
        time_since_last_use_hours=since_last,
    )


def _success(agg: queries.WindowAggregate) -> SuccessMetrics:
    n = agg.executions
    scores = float_values(agg.quality_scores)
    return SuccessMetrics(
        success_rate=agg.successes / n if n else 0.0,
        error_rate=(n - agg.successes) / n if n else 0.0,
        avg_quality_score=float(scores.mean()) if scores.size else 0.0,
        successful_executions=agg.successes,
        failed_executions=n - agg.successes,
        blocked_executions=agg.blocked,
        quality_scored_executions=int(scores.size),
    )


def _performance(agg: queries.WindowAggregate) -> PerformanceMetrics:
    s = spread(float_values(agg.durations))
    if s is None:
        return PerformanceMetrics(
            measured_executions=0,
            avg_execution_time_ms=None,
            p50_execution_time_ms=None,
            p95_execution_time_ms=None,
            p99_execution_time_ms=None,
            min_execution_time_ms=None,
            max_execution_time_ms=None,
            std_execution_time_ms=None,
        )
    return PerformanceMetrics(
        measured_executions=s.count,
        avg_execution_time_ms=s.mean,
        p50_execution_time_ms=s.p50,
        p95_execution_time_ms=s.p95,
        p99_execution_time_ms=s.p99,
        min_execution_time_ms=s.minimum,
        max_execution_time_ms=s.maximum,
        std_execution_time_ms=s.std,
    )


def _trend(agg: queries.WindowAggregate, window: Window, min_sample_size: int) -> TrendAnalysis:
    used_before = agg.first_ever is not None and agg.first_ever < window.start
    t = analyze_trend(agg.period_counts, used_before_window=used_before, min_sample_size=min_sample_size)
    return TrendAnalysis(
        trend_type=t.trend_type,
        velocity=t.velocity,
        acceleration=t.acceleration,
        growth_percentage=t.growth_percentage,
        confidence_score=t.confidence_score,
        slope_p_value=t.slope_p_value,
        r_squared=t.r_squared,
        relative_change=t.relative_change,
        period_seconds=window.period_s,
        period_counts=t.period_counts,
        sample_size=t.sample_size,
        min_sample_size=t.min_sample_size,
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
    async with queries.read_snapshot(conn):
        agg = await queries.fetch_window_aggregate(conn, req.pattern_id, window, use_rollups=req.use_rollups)
        if not agg.known:
            raise NotFound(f"pattern '{req.pattern_id}' not found", pattern_id=req.pattern_id)
        if req.include_distribution:
            raw = await queries.fetch_distribution(conn, req.pattern_id, window, use_rollups=req.use_rollups)
            distribution = _distribution(raw)
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
        analytics_quality_score=quality_score(agg.executions, window.days),
        total_data_points=agg.executions,
        computation_time_ms=elapsed_ms,
        processing_time_ms=elapsed_ms,
    )
