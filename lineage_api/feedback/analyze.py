"""feedback/analyze: collect -> analyze -> validate -> apply, on a pattern's real executions.

1. **Collect** the executions of every version of the pattern in the window (rollups, exact).
   Fewer than ``min_sample_size`` in all: a warning, and the other stages are skipped.
2. **Analyze**: for each metric in scope (performance -> execution time, quality -> quality
   score, usage -> success rate, all -> the three), an improvement opportunity when the candidate
   version (see ``versions``) does better than the control, or when the control breaks the stated
   threshold: mean execution time > 400 ms or its standard deviation > 100 ms; mean quality
   score < 0.85; success rate < 0.90 (a threshold alone has no candidate to test, so it stays a
   recommendation).
3. **Validate** every metric in scope with a scipy test (``validate``).
4. **Apply** (``apply``) when a validated improvement's confidence reaches ``auto_apply_threshold``
   and no metric in scope regressed significantly: the candidate is promoted, the control
   deprecated, in the persisted lineage.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import numpy as np
from numpy.typing import NDArray

from traceability.lineage_api.analytics import queries
from traceability.lineage_api.analytics.statistics import float_values, spread
from traceability.lineage_api.analytics.windows import aware_utc, single_period_window
from traceability.lineage_api.feedback import apply as applier
from traceability.lineage_api.feedback import validate
from traceability.lineage_api.feedback.models import (
    ApplyResult,
    Direction,
    FeedbackAnalyzeRequest,
    FeedbackLoopOutput,
    FeedbackSettings,
    ImprovementOpportunity,
    Metric,
    OpportunitySource,
    OpportunityType,
    ValidationResult,
    ValidationStatus,
    VersionMetrics,
)
from traceability.lineage_api.feedback.versions import Arms, Version, arms
from traceability.lineage_api.store.errors import Conflict, NotFound

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


@dataclass(frozen=True)
class Sample:
    """One version's executions in the window."""

    version: Version
    executions: int
    successes: int
    durations: NDArray[np.float64]
    quality: NDArray[np.float64]

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.executions if self.executions else None

    def value(self, metric: Metric) -> float | None:
        if metric == "success_rate":
            return self.success_rate
        values = self.durations if metric == "execution_time" else self.quality
        return float(values.mean()) if values.size else None

    def metrics(self) -> VersionMetrics:
        s = spread(self.durations)
        return VersionMetrics(
            node_id=self.version.id,
            pattern_id=self.version.pattern_id,
            pattern_version=self.version.pattern_version,
            status=self.version.status,
            executions=self.executions,
            success_rate=self.success_rate,
            avg_execution_time_ms=s.mean if s else None,
            p50_execution_time_ms=s.p50 if s else None,
            p95_execution_time_ms=s.p95 if s else None,
            std_execution_time_ms=s.std if s else None,
            avg_quality_score=self.value("quality_score"),
            quality_scored_executions=int(self.quality.size),
        )


def improvement_id(metric: Metric, control: Version, treatment: Version | None) -> str:
    """Stable while the same two versions are compared (what feedback/apply refers to)."""
    return f"{metric}:{control.id}:{treatment.id if treatment else 'none'}"


def _effect(metric: Metric, control: float | None, treatment: float | None) -> float | None:
    """Relative improvement of the treatment (positive = better)."""
    if control is None or treatment is None or control == 0:
        return None
    if metric == "execution_time":
        return (control - treatment) / control
    return (treatment - control) / control


def _threshold_breached(metric: Metric, control: Sample) -> bool:
    if metric == "execution_time":
        s = spread(control.durations)
        return s is not None and (s.mean > MAX_MEAN_TIME_MS or (s.std or 0.0) > MAX_TIME_STD_MS)
    value = control.value(metric)
    if value is None:
        return False
    return value < (MIN_QUALITY if metric == "quality_score" else MIN_SUCCESS_RATE)


def _describe(metric: Metric, control: Sample, treatment: Sample | None, effect: float | None) -> str:
    name = {"execution_time": "mean execution time", "quality_score": "mean quality score"}.get(
        metric, "success rate"
    )
    if treatment is not None and effect is not None:
        return (
            f"version {treatment.version.pattern_version} improves the {name} of version "
            f"{control.version.pattern_version} by {effect:.1%} (observed)"
        )
    rule = {
        "execution_time": f"above {MAX_MEAN_TIME_MS:.0f} ms (or spread above {MAX_TIME_STD_MS:.0f} ms)",
        "quality_score": f"below {MIN_QUALITY}",
        "success_rate": f"below {MIN_SUCCESS_RATE:.0%}",
    }[metric]
    return f"the {name} of version {control.version.pattern_version} is {rule}; no candidate version to test"


def _samples_needed(metric: Metric, sample: Sample) -> int:
    if metric == "execution_time":
        return int(sample.durations.size)
    if metric == "quality_score":
        return int(sample.quality.size)
    return sample.executions


def _validate(
    metric: Metric, control: Sample, treatment: Sample, settings: FeedbackSettings
) -> ValidationResult:
    c_val, t_val = control.value(metric), treatment.value(metric)
    effect = _effect(metric, c_val, t_val)
    c_n, t_n = _samples_needed(metric, control), _samples_needed(metric, treatment)
    direction: Direction = "same" if effect is None or effect == 0 else "better" if effect > 0 else "worse"
    if c_n < settings.min_sample_size or t_n < settings.min_sample_size:
        test = validate.TEST_NAMES[
            settings.proportion_test if metric == "success_rate" else settings.continuous_test
        ]
        return ValidationResult(
            improvement_id=improvement_id(metric, control.version, treatment.version),
            metric=metric,
            test=test,
            statistic=None,
            p_value=None,
            confidence=None,
            significant=False,
            direction=direction,
            effect=effect,
            control_n=c_n,
            treatment_n=t_n,
            control_value=c_val,
            treatment_value=t_val,
            status="insufficient_data",
        )
    if metric == "success_rate":
        outcome = validate.compare_proportions(
            control.successes,
            control.executions,
            treatment.successes,
            treatment.executions,
            settings.proportion_test,
        )
    else:
        c_values = control.durations if metric == "execution_time" else control.quality
        t_values = treatment.durations if metric == "execution_time" else treatment.quality
        outcome = validate.compare_continuous(c_values, t_values, settings.continuous_test)
    significant = outcome.p_value < settings.significance_level
    status: ValidationStatus
    if significant and direction == "better":
        status = "validated"
    elif significant and direction == "worse":
        status = "regression"
    else:
        status = "not_significant"
    return ValidationResult(
        improvement_id=improvement_id(metric, control.version, treatment.version),
        metric=metric,
        test=outcome.test,
        statistic=outcome.statistic,
        p_value=outcome.p_value,
        confidence=1.0 - outcome.p_value,
        significant=significant,
        direction=direction,
        effect=effect,
        control_n=c_n,
        treatment_n=t_n,
        control_value=c_val,
        treatment_value=t_val,
        status=status,
    )


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
    async with queries.read_snapshot(conn):
        pattern_arms = await arms(conn, pattern_id)
        if not pattern_arms.family:
            raise NotFound(f"pattern '{pattern_id}' not found", pattern_id=pattern_id)
        raw = await queries.fetch_node_samples(conn, [v.id for v in pattern_arms.family], window)
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
        effect = _effect(metric, control.value(metric), treatment.value(metric)) if treatment else None
        breached = _threshold_breached(metric, control)
        source: OpportunitySource
        if treatment is not None and effect is not None and effect > 0:
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
                description=_describe(metric, control, treatment if source == "variant" else None, effect),
                expected_delta=effect if source == "variant" and effect is not None else TARGET_DELTA[metric],
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
        result = _validate(metric, control, treatment, settings)
        evaluation.validations.append(result)
        if result.status == "insufficient_data":
            warnings.append(
                f"{metric}: {result.control_n} control and {result.treatment_n} treatment samples; "
                f"min_sample_size={settings.min_sample_size} each is needed to test"
            )
    return evaluation


def _decisive(evaluation: Evaluation) -> ValidationResult | None:
    validated = [v for v in evaluation.validations if v.status == "validated"]
    if validated:
        return max(validated, key=lambda v: v.confidence or 0.0)
    return evaluation.validations[0] if evaluation.validations else None


async def analyze(conn: asyncpg.Connection, req: FeedbackAnalyzeRequest) -> FeedbackLoopOutput:
    started = time.perf_counter()
    correlation_id = uuid.uuid4()
    evaluation = await evaluate(conn, req.pattern_id, req)
    applicable = evaluation.applicable(req.auto_apply_threshold)
    applied: dict[str, Any] | None = None
    if applicable and req.auto_apply:
        assert evaluation.control is not None and evaluation.treatment is not None
        result = await applier.promote(
            conn,
            pattern_id=req.pattern_id,
            winner=evaluation.treatment.version,
            loser=evaluation.control.version,
            improvements=applicable,
            correlation_id=correlation_id,
            forced=False,
        )
        applied = result.model_dump(mode="json")
        evaluation.stages["apply"] = "completed"
    elif applicable:
        evaluation.warnings.append("auto_apply is false: validated improvements were not applied")
    elif any(v.status == "regression" for v in evaluation.validations):
        evaluation.warnings.append("a metric regressed significantly: nothing applied")
    n_applied = len(applicable) if applied else 0
    decisive = _decisive(evaluation)
    now = datetime.now(UTC)
    return FeedbackLoopOutput(
        success=True,
        pattern_id=req.pattern_id,
        feedback_collected=evaluation.collected,
        executions_analyzed=sum(s.executions for s in (evaluation.control, evaluation.treatment) if s),
        improvements_identified=len(evaluation.opportunities),
        improvement_opportunities=evaluation.opportunities,
        improvements_validated=sum(v.status == "validated" for v in evaluation.validations),
        validation_results=evaluation.validations,
        improvements_applied=n_applied,
        improvements_rejected=len(evaluation.opportunities) - n_applied,
        performance_delta=(decisive.effect or 0.0) if decisive else 0.0,
        baseline_metrics=evaluation.control.metrics() if evaluation.control else None,
        improved_metrics=evaluation.treatment.metrics() if evaluation.treatment else None,
        confidence_score=(decisive.confidence or 0.0) if decisive else 0.0,
        p_value=decisive.p_value if decisive else None,
        statistically_significant=decisive.significant if decisive else False,
        next_review_date=aware_utc(req.as_of) + timedelta(days=req.time_window_days),
        workflow_stages=evaluation.stages,
        applied=applied,
        errors=[],
        warnings=evaluation.warnings,
        correlation_id=correlation_id,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        timestamp=now,
        metadata={
            "feedback_type": req.feedback_type,
            "time_window_days": req.time_window_days,
            "significance_level": req.significance_level,
            "min_sample_size": req.min_sample_size,
            "auto_apply_threshold": req.auto_apply_threshold,
            "control_node_id": str(evaluation.arms.control.id) if evaluation.arms.control else None,
            "treatment_node_id": str(evaluation.arms.treatment.id) if evaluation.arms.treatment else None,
            "versions_in_family": len(evaluation.arms.family),
        },
    )


async def apply_improvements(
    conn: asyncpg.Connection,
    pattern_id: str,
    improvement_ids: list[str],
    *,
    force: bool,
    settings: FeedbackSettings,
) -> ApplyResult:
    """feedback/apply: re-evaluate, then promote the candidate for the named (or all) improvements.

    Without ``force`` only validated improvements whose confidence reaches the threshold, and no
    significant regression, are accepted; ``force`` applies tested improvements whatever the test said.
    """
    evaluation = await evaluate(conn, pattern_id, settings)
    control, treatment = evaluation.control, evaluation.treatment
    if control is None or treatment is None:
        raise Conflict(f"pattern '{pattern_id}' has no two versions under test", warnings=evaluation.warnings)
    by_id = {v.improvement_id: v for v in evaluation.validations}
    if not by_id:
        raise Conflict("nothing was tested: " + "; ".join(evaluation.warnings), warnings=evaluation.warnings)
    unknown = [i for i in improvement_ids if i not in by_id]
    if unknown:
        raise NotFound(
            f"unknown improvement ids {unknown}; the current ones are {sorted(by_id)}",
            improvement_ids=sorted(by_id),
        )
    chosen = [by_id[i] for i in improvement_ids] if improvement_ids else list(by_id.values())
    if not force:
        regressions = [v.improvement_id for v in evaluation.validations if v.status == "regression"]
        if regressions:
            raise Conflict(f"significant regression in {regressions}; use force=true to apply anyway")
        eligible = [
            v
            for v in chosen
            if v.status == "validated" and (v.confidence or 0.0) >= settings.auto_apply_threshold
        ]
        if not eligible:
            statuses = {v.improvement_id: f"{v.status} (p={v.p_value})" for v in chosen}
            raise Conflict(
                f"no improvement is validated with confidence >= {settings.auto_apply_threshold}: {statuses}; "
                "use force=true to apply anyway",
                validation_results=[v.model_dump(mode="json") for v in chosen],
            )
        chosen = eligible
    return await applier.promote(
        conn,
        pattern_id=pattern_id,
        winner=treatment.version,
        loser=control.version,
        improvements=chosen,
        correlation_id=uuid.uuid4(),
        forced=force,
    )
