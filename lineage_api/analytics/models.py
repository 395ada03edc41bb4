"""Request and response bodies of analytics/compute (shown in the OpenAPI document at /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from traceability.lineage_api.analytics.windows import AsOf, WindowType

TrendType = Literal["growing", "stable", "declining", "emerging", "abandoned", "insufficient_data"]


class AnalyticsRequest(BaseModel):
    pattern_id: str = Field(min_length=1, max_length=512)
    time_window_type: WindowType = "weekly"
    include_performance: bool = True
    include_trends: bool = True
    include_distribution: bool = False
    time_window_days: int | None = Field(
        default=None, ge=1, le=3650, description="custom window length in days (sets the type to daily)"
    )
    as_of: AsOf | None = Field(default=None, description="end of the window (default: now); naive = UTC")
    use_rollups: bool = Field(
        default=True, description="false recomputes from the raw executions (slow; same numbers)"
    )
    min_sample_size: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="executions a trend class and a growth figure need (default: the server's "
        "TRACEABILITY_ANALYTICS_MIN_SAMPLE, 30); fewer give trend_type insufficient_data",
    )


class TimeWindow(BaseModel):
    start: datetime
    end: datetime
    type: str
    days: int
    period_seconds: int
    periods: int


class UsageMetrics(BaseModel):
    total_executions: int
    executions_per_day: float
    executions_per_week: float
    unique_contexts: int = Field(description="distinct sessions")
    unique_users: int
    peak_daily_usage: int = Field(description="most executions on one UTC date")
    last_execution_at: datetime | None
    time_since_last_use_hours: float | None


class SuccessMetrics(BaseModel):
    success_rate: float = Field(description="succeeded and not blocked / total (0 when there are none)")
    error_rate: float
    avg_quality_score: float = Field(description="0.0 when no execution has a score")
    successful_executions: int
    failed_executions: int
    blocked_executions: int
    quality_scored_executions: int = Field(description="the sample size of avg_quality_score")


class PerformanceMetrics(BaseModel):
    measured_executions: int
    avg_execution_time_ms: float | None
    p50_execution_time_ms: float | None
    p95_execution_time_ms: float | None
    p99_execution_time_ms: float | None
    min_execution_time_ms: float | None
    max_execution_time_ms: float | None
    std_execution_time_ms: float | None


class TrendAnalysis(BaseModel):
    trend_type: TrendType
    velocity: float
    acceleration: float
    growth_percentage: float
    confidence_score: float
    slope_p_value: float | None
    r_squared: float | None
    relative_change: float | None
    period_seconds: int
    period_counts: list[int]
    sample_size: int = Field(description="executions in the window")
    min_sample_size: int = Field(description="below it trend_type is insufficient_data, growth 0.0")


class Distribution(BaseModel):
    by_version: dict[str, int]
    by_tool: dict[str, int]
    by_file_extension: dict[str, int]
    by_user: dict[str, int]
    by_hour_of_day: dict[str, int] = Field(description="UTC hour 0-23")
    by_weekday: dict[str, int] = Field(description="0 = Monday")


class CostMetrics(BaseModel):
    """What the turns in which the pattern's versions were written cost, from Claude Code's own telemetry.

    The turns are the distinct traces of the pattern's executions in the window; each turn counts
    once however many of its executions touched the pattern, and its whole cost counts (a turn is
    not split between the patterns it wrote).
    """

    turns: int = Field(description="distinct turns (traces) of the pattern's executions in the window")
    turns_with_telemetry: int = Field(
        description="of those, the turns with Claude Code's own events or spans (the others add 0)"
    )
    llm_calls: int = Field(description="api_request events of those turns")
    api_errors: int = Field(description="api_error events of those turns")
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    cost_usd: float = Field(description="sum of the api_request events' cost_usd")
    models: list[str] = Field(description="the models of those requests, sorted")


class AnalyticsResponse(BaseModel):
    success: bool = True
    pattern_id: str
    time_window: TimeWindow
    usage_metrics: UsageMetrics
    success_metrics: SuccessMetrics
    performance_metrics: PerformanceMetrics | None
    trend_analysis: TrendAnalysis | None
    distribution: Distribution | None
    cost_metrics: CostMetrics
    analytics_quality_score: float
    total_data_points: int
    computation_time_ms: float
    processing_time_ms: float
