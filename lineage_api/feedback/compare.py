"""Two versions compared on one metric: their samples, the observed effect, the scipy test (``validate``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from traceability.lineage_api.analytics.statistics import spread
from traceability.lineage_api.feedback import validate
from traceability.lineage_api.feedback.models import (
    Direction,
    FeedbackSettings,
    Metric,
    ValidationResult,
    ValidationStatus,
    VersionMetrics,
)
from traceability.lineage_api.store.versions import Version


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

    def values(self, metric: Metric) -> NDArray[np.float64]:
        """The continuous values of ``metric`` (execution time or quality score)."""
        return self.durations if metric == "execution_time" else self.quality

    def value(self, metric: Metric) -> float | None:
        if metric == "success_rate":
            return self.success_rate
        values = self.values(metric)
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


def effect(metric: Metric, control: float | None, treatment: float | None) -> float | None:
    """Relative improvement of the treatment (positive = better)."""
    if control is None or treatment is None or control == 0:
        return None
    if metric == "execution_time":
        return (control - treatment) / control
    return (treatment - control) / control


def _samples_needed(metric: Metric, sample: Sample) -> int:
    return sample.executions if metric == "success_rate" else int(sample.values(metric).size)


def validate_metric(
    metric: Metric, control: Sample, treatment: Sample, settings: FeedbackSettings
) -> ValidationResult:
    c_val, t_val = control.value(metric), treatment.value(metric)
    change = effect(metric, c_val, t_val)
    c_n, t_n = _samples_needed(metric, control), _samples_needed(metric, treatment)
    direction: Direction = "same" if change is None or change == 0 else "better" if change > 0 else "worse"
    statistic: float | None = None
    p_value: float | None = None
    if c_n < settings.min_sample_size or t_n < settings.min_sample_size:
        name = settings.proportion_test if metric == "success_rate" else settings.continuous_test
        test = validate.TEST_NAMES[name]
        status: ValidationStatus = "insufficient_data"
    else:
        if metric == "success_rate":
            outcome = validate.compare_proportions(
                control.successes,
                control.executions,
                treatment.successes,
                treatment.executions,
                settings.proportion_test,
            )
        else:
            outcome = validate.compare_continuous(
                control.values(metric), treatment.values(metric), settings.continuous_test
            )
        test, statistic, p_value = outcome.test, outcome.statistic, outcome.p_value
        status = _status(p_value < settings.significance_level, direction)
    return ValidationResult(
        improvement_id=improvement_id(metric, control.version, treatment.version),
        metric=metric,
        test=test,
        statistic=statistic,
        p_value=p_value,
        confidence=None if p_value is None else 1.0 - p_value,
        significant=p_value is not None and p_value < settings.significance_level,
        direction=direction,
        effect=change,
        control_n=c_n,
        treatment_n=t_n,
        control_value=c_val,
        treatment_value=t_val,
        status=status,
    )


def _status(significant: bool, direction: Direction) -> ValidationStatus:
    if significant and direction == "better":
        return "validated"
    if significant and direction == "worse":
        return "regression"
    return "not_significant"
