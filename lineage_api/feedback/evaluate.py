"""Collect, analyze and validate a pattern's versions (steps 1 to 3 of ``feedback.analyze``; no writes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np

from traceability.lineage_api.analytics.aggregate import scan_range
from traceability.lineage_api.analytics.statistics import float_values, spread
from traceability.lineage_api.analytics.windows import single_period_window
from traceability.lineage_api.feedback.compare import Sample, effect, improvement_id, validate_metric
from traceability.lineage_api.feedback.models import (
    FeedbackSettings,
    ImprovementOpportunity,
    Metric,
    OpportunitySource,
    OpportunityType,
    ValidationResult,
)
from traceability.lineage_api.feedback.versions import Arms, arms
from traceability.lineage_api.store import analytics as store
from traceability.lineage_api.store.errors import NotFound
from traceability.lineage_api.store.snapshot import read_snapshot
from traceability.lineage_api.store.versions import Version

# The thresholds of step 2 and the target delta of each metric.
MAX_MEAN_TIME_MS = 400.0
MAX_TIME_STD_MS = 100.0
MIN_QUALITY = 0.85
MIN_SUCCESS_RATE = 0.90
TARGET_DELTA = {"execution_time": 0.60, "quality_score": 0.15, "success_rate": 0.10}

METRICS_BY_TYPE: dict[str, list[Metric]] = {
    "performance": ["execution_time"],
    "quality": ["quality_score"],
    "usage": ["success_rate"],
    "all": ["execution_time", "quality_score", "success_rate"],
}
OPPORTUNITY_TYPE: dict[Metric, OpportunityType] = {
    "execution_time": "performance",
    "quality_score": "quality",
    "success_rate": "reliability",
}


def threshold_breached(metric: Metric, control: Sample) -> bool:
    if metric == "execution_time":
        s = spread(control.durations)
        return s is not None and (s.mean > MAX_MEAN_TIME_MS or (s.std or 0.0) > MAX_TIME_STD_MS)
    value = control.value(metric)
    if value is None:
        return False
    return value < (MIN_QUALITY if metric == "quality_score" else MIN_SUCCESS_RATE)


def describe(metric: Metric, control: Sample, treatment: Sample | None, change: float | None) -> str:
    name = {"execution_time": "mean execution time", "quality_score": "mean quality score"}.get(
        metric, "success rate"
    )
    if treatment is not None and change is not None:
        return (
            f"version {treatment.version.pattern_version} improves the {name} of version "
            f"{control.version.pattern_version} by {change:.1%} (observed)"
        )
    rule = {
        "execution_time": f"above {MAX_MEAN_TIME_MS:.0f} ms (or spread above {MAX_TIME_STD_MS:.0f} ms)",
        "quality_score": f"below {MIN_QUALITY}",
        "success_rate": f"below {MIN_SUCCESS_RATE:.0%}",
    }[metric]
    return f"the {name} of version {control.version.pattern_version} is {rule}; no candidate version to test"


@dataclass
class Evaluation:
    """Collect, analyze and validate (no writes); what analyze and apply both start from."""

    arms: Arms
    collected: int
    control: Sample | None
    treatment: Sample | None
    opportunities: list[ImprovementOpportunity]
    validations: list[ValidationResult]
    stages: dict[str, Any]
    warnings: list[str]

    def applicable(self, threshold: float) -> list[ValidationResult]:
        """Validated improvements confident enough to apply (none when a metric regressed)."""
        if any(v.status == "regression" for v in self.validations):
            return []
        return [v for v in self.validations if v.status == "validated" and (v.confidence or 0.0) >= threshold]


async def evaluate(conn: asyncpg.Connection, pattern_id: str, settings: FeedbackSettings) -> Evaluation:
    window = single_period_window(settings.time_window_days, settings.as_of)
    async with read_snapshot(conn):
        pattern_arms = await arms(conn, pattern_id)
        if not pattern_arms.family:
            raise NotFound(f"pattern '{pattern_id}' not found", pattern_id=pattern_id)
        raw = await store.fetch_node_samples(conn, [v.id for v in pattern_arms.family], scan_range(window))
    collected = sum(s.executions for s in raw.values())
    stages: dict[str, Any] = {
        "collect": "completed",
        "analyze": "skipped",
        "validate": "skipped",
        "apply": "skipped",
    }
    warnings: list[str] = []

    def sample(version: Version | None) -> Sample | None:
        if version is None:
            return None
        r = raw.get(version.id)
        return Sample(
            version=version,
            executions=r.executions if r else 0,
            successes=r.successes if r else 0,
            durations=float_values(r.durations) if r else np.empty(0),
            quality=float_values(r.quality_scores) if r else np.empty(0),
        )

    control, treatment = sample(pattern_arms.control), sample(pattern_arms.treatment)
    evaluation = Evaluation(pattern_arms, collected, control, treatment, [], [], stages, warnings)
    if control is None:
        warnings.append(f"every version of pattern '{pattern_id}' is deprecated: nothing to compare")
        return evaluation
    if collected < settings.min_sample_size:
        warnings.append(
            f"{collected} executions in the last {settings.time_window_days} days, fewer than "
            f"min_sample_size={settings.min_sample_size}: analysis skipped"
        )
        return evaluation
    if treatment is None:
        warnings.append(f"pattern '{pattern_id}' has one active version: no candidate to test against it")

    stages["analyze"] = "completed"
    for metric in METRICS_BY_TYPE[settings.feedback_type]:
        change = effect(metric, control.value(metric), treatment.value(metric)) if treatment else None
        breached = threshold_breached(metric, control)
        source: OpportunitySource
        if treatment is not None and change is not None and change > 0:
            source = "variant"
        elif breached:
            source = "threshold"
        else:
            continue
        evaluation.opportunities.append(
            ImprovementOpportunity(
                improvement_id=improvement_id(
                    metric, control.version, treatment.version if treatment else None
                ),
                type=OPPORTUNITY_TYPE[metric],
                metric=metric,
                description=describe(metric, control, treatment if source == "variant" else None, change),
                expected_delta=change if source == "variant" and change is not None else TARGET_DELTA[metric],
                source=source,
                threshold_breached=breached,
                candidate_node_id=treatment.version.id if source == "variant" and treatment else None,
                candidate_version=treatment.version.pattern_version
                if source == "variant" and treatment
                else None,
                baseline_value=control.value(metric),
                candidate_value=treatment.value(metric) if treatment else None,
            )
        )

    if treatment is None:
        return evaluation
    if not settings.enable_ab_testing:
        warnings.append("enable_ab_testing is false: improvements were not validated")
        return evaluation
    stages["validate"] = "completed"
    for metric in METRICS_BY_TYPE[settings.feedback_type]:
        result = validate_metric(metric, control, treatment, settings)
        evaluation.validations.append(result)
        if result.status == "insufficient_data":
            warnings.append(
                f"{metric}: {result.control_n} control and {result.treatment_n} treatment samples; "
                f"min_sample_size={settings.min_sample_size} each is needed to test"
            )
    return evaluation
