"""Request and response bodies of the feedback loop (shown in the OpenAPI document at /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from traceability.lineage_api.analytics.windows import AsOf

FeedbackType = Literal["performance", "quality", "usage", "all"]
ContinuousTest = Literal["welch", "mann_whitney"]
ProportionTest = Literal["fisher", "two_proportion"]
Metric = Literal["execution_time", "quality_score", "success_rate"]
StageStatus = Literal["completed", "skipped"]
OpportunityType = Literal["performance", "quality", "reliability"]
OpportunitySource = Literal["variant", "threshold"]
Direction = Literal["better", "worse", "same"]
ValidationStatus = Literal["validated", "not_significant", "regression", "insufficient_data"]


class FeedbackSettings(BaseModel):
    """How to judge two versions; shared by analyze and apply."""

    feedback_type: FeedbackType = "performance"
    time_window_days: int = Field(default=7, ge=1, le=90)
    auto_apply_threshold: float = Field(default=0.95, ge=0.0, le=1.0)
    min_sample_size: int = Field(default=30, ge=10)
    significance_level: float = Field(default=0.05, ge=0.001, le=0.1)
    enable_ab_testing: bool = True
    continuous_test: ContinuousTest = Field(
        default="welch", description="for durations and quality scores: Welch's t-test or Mann-Whitney U"
    )
    proportion_test: ProportionTest = Field(
        default="fisher", description="for success rates: Fisher's exact test or the two-proportion z-test"
    )
    as_of: AsOf | None = Field(default=None, description="end of the window (default: now); naive = UTC")


class FeedbackAnalyzeRequest(FeedbackSettings):
    pattern_id: str = Field(min_length=1, max_length=512)
    auto_apply: bool = Field(
        default=True,
        description="apply a validated improvement whose confidence reaches auto_apply_threshold",
    )


class VersionMetrics(BaseModel):
    node_id: UUID
    pattern_id: str
    pattern_version: str
    status: str
    executions: int
    success_rate: float | None
    avg_execution_time_ms: float | None
    p50_execution_time_ms: float | None
    p95_execution_time_ms: float | None
    std_execution_time_ms: float | None
    avg_quality_score: float | None
    quality_scored_executions: int


class ImprovementOpportunity(BaseModel):
    improvement_id: str
    type: OpportunityType
    metric: Metric
    description: str
    expected_delta: float = Field(
        description="relative improvement: observed for a variant, the target otherwise"
    )
    source: OpportunitySource
    threshold_breached: bool
    candidate_node_id: UUID | None
    candidate_version: str | None
    baseline_value: float | None
    candidate_value: float | None


class ValidationResult(BaseModel):
    improvement_id: str
    metric: Metric
    test: str = Field(description="welch_t_test | mann_whitney_u | fisher_exact | two_proportion_z_test")
    statistic: float | None
    p_value: float | None
    confidence: float | None = Field(description="1 - p_value")
    significant: bool
    direction: Direction
    effect: float | None = Field(description="relative improvement of the candidate (positive = better)")
    control_n: int
    treatment_n: int
    control_value: float | None
    treatment_value: float | None
    status: ValidationStatus


class FeedbackLoopOutput(BaseModel):
    success: bool
    pattern_id: str
    feedback_collected: int = Field(description="executions of every version of the pattern in the window")
    executions_analyzed: int = Field(description="executions of the two versions compared")
    improvements_identified: int
    improvement_opportunities: list[ImprovementOpportunity]
    improvements_validated: int
    validation_results: list[ValidationResult]
    improvements_applied: int
    improvements_rejected: int
    performance_delta: float
    baseline_metrics: VersionMetrics | None
    improved_metrics: VersionMetrics | None
    confidence_score: float
    p_value: float | None
    statistically_significant: bool
    next_review_date: datetime
    workflow_stages: dict[str, StageStatus]
    applied: dict[str, Any] | None = Field(description="what apply changed in the lineage, when it ran")
    errors: list[str]
    warnings: list[str]
    correlation_id: UUID
    duration_ms: float
    timestamp: datetime
    metadata: dict[str, Any]


class ApplyResult(BaseModel):
    pattern_id: str
    applied_improvement_ids: list[str]
    forced: bool
    promoted_node_id: UUID
    promoted_version: str
    deprecated_node_id: UUID
    deprecated_version: str
    edge_id: UUID | None
    edge_created: bool
    event_ids: list[UUID]
    correlation_id: UUID


class VariantAssignment(BaseModel):
    pattern_id: str
    session_id: str
    under_test: bool
    variant: Literal["control", "treatment"]
    node_id: UUID
    pattern_version: str
    experiment_id: str | None
    treatment_share: float
    control_node_id: UUID
    treatment_node_id: UUID | None
