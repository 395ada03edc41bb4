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
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from traceability.lineage_api.analytics.windows import aware_utc
from traceability.lineage_api.feedback import apply as applier
from traceability.lineage_api.feedback.evaluate import Evaluation, evaluate
from traceability.lineage_api.feedback.models import (
    ApplyResult,
    FeedbackAnalyzeRequest,
    FeedbackLoopOutput,
    FeedbackSettings,
    ValidationResult,
)
from traceability.lineage_api.store.errors import Conflict, NotFound


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
