"""Feedback routes: analyze (collect, analyze, validate, apply), apply, and variant assignment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from traceability.lineage_api.analytics.windows import AsOf
from traceability.lineage_api.dependencies import ConnectionDep
from traceability.lineage_api.errors import processing_time_ms
from traceability.lineage_api.feedback.analyze import analyze, apply_improvements
from traceability.lineage_api.feedback.assign import assign
from traceability.lineage_api.feedback.models import (
    ApplyResult,
    ContinuousTest,
    FeedbackAnalyzeRequest,
    FeedbackLoopOutput,
    FeedbackSettings,
    FeedbackType,
    ProportionTest,
    VariantAssignment,
)
from traceability.lineage_api.models import Envelope
from traceability.lineage_api.names import resolve_pattern_ref

router = APIRouter(tags=["feedback"])


@router.post(
    "/feedback/analyze",
    response_model=Envelope[FeedbackLoopOutput],
    summary="Compare a pattern's versions on real executions; apply a validated improvement",
)
async def analyze_route(
    req: FeedbackAnalyzeRequest, conn: ConnectionDep, request: Request
) -> Envelope[FeedbackLoopOutput]:
    req = req.model_copy(update={"pattern_id": await resolve_pattern_ref(conn, req.pattern_id)})
    output = await analyze(conn, req)
    return Envelope(
        data=output,
        metadata={
            "correlation_id": str(output.correlation_id),
            "pattern_id": req.pattern_id,
            "duration_ms": output.duration_ms,
            "processing_time_ms": processing_time_ms(request),
        },
    )


@router.post(
    "/feedback/apply",
    response_model=Envelope[ApplyResult],
    summary="Apply improvements (promote the candidate version, deprecate the control)",
)
async def apply_route(
    conn: ConnectionDep,
    request: Request,
    pattern_id: Annotated[str, Query(min_length=1, max_length=512)],
    improvement_ids: Annotated[list[str], Query(description="repeat or comma-separate; none = all")] = [],  # noqa: B006 - FastAPI copies query defaults
    force: bool = False,
    feedback_type: FeedbackType = "all",
    time_window_days: Annotated[int, Query(ge=1, le=90)] = 7,
    auto_apply_threshold: Annotated[float, Query(ge=0.0, le=1.0)] = 0.95,
    min_sample_size: Annotated[int, Query(ge=10)] = 30,
    significance_level: Annotated[float, Query(ge=0.001, le=0.1)] = 0.05,
    continuous_test: ContinuousTest = "welch",
    proportion_test: ProportionTest = "fisher",
    as_of: AsOf | None = None,
) -> Envelope[ApplyResult]:
    settings = FeedbackSettings(
        feedback_type=feedback_type,
        time_window_days=time_window_days,
        auto_apply_threshold=auto_apply_threshold,
        min_sample_size=min_sample_size,
        significance_level=significance_level,
        continuous_test=continuous_test,
        proportion_test=proportion_test,
        as_of=as_of,
    )
    ids = [part.strip() for value in improvement_ids for part in value.split(",") if part.strip()]
    pattern_id = await resolve_pattern_ref(conn, pattern_id)
    result = await apply_improvements(conn, pattern_id, ids, force=force, settings=settings)
    return Envelope(
        data=result,
        metadata={
            "correlation_id": str(result.correlation_id),
            "processing_time_ms": processing_time_ms(request),
        },
    )


@router.get(
    "/feedback/assign",
    response_model=Envelope[VariantAssignment],
    summary="The version a session should use while two versions are under test (stable per session)",
)
async def assign_route(
    conn: ConnectionDep,
    request: Request,
    pattern_id: Annotated[str, Query(min_length=1, max_length=512)],
    session_id: Annotated[str, Query(min_length=1, max_length=512)],
    treatment_share: Annotated[float, Query(ge=0.0, le=1.0)] = 0.5,
) -> Envelope[VariantAssignment]:
    result = await assign(conn, await resolve_pattern_ref(conn, pattern_id), session_id, treatment_share)
    return Envelope(data=result, metadata={"processing_time_ms": processing_time_ms(request)})
