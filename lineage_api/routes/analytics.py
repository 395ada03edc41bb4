"""Analytics routes: POST analytics/compute and its GET wrapper analytics/{pattern_id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from traceability.lineage_api.analytics.compute import compute_analytics
from traceability.lineage_api.analytics.models import AnalyticsRequest, AnalyticsResponse
from traceability.lineage_api.analytics.windows import AsOf, WindowType
from traceability.lineage_api.dependencies import ConnectionDep, SettingsDep
from traceability.lineage_api.errors import processing_time_ms
from traceability.lineage_api.names import resolve_pattern_ref

router = APIRouter(tags=["analytics"])


async def _respond(
    req: AnalyticsRequest, conn: ConnectionDep, settings: SettingsDep, request: Request
) -> Response:
    """The body serialized by pydantic directly (FastAPI would validate the model a second time)."""
    req = req.model_copy(update={"pattern_id": await resolve_pattern_ref(conn, req.pattern_id)})
    result = await compute_analytics(conn, req, default_min_sample_size=settings.analytics_min_sample_size)
    result.processing_time_ms = processing_time_ms(request)
    return Response(result.model_dump_json(), media_type="application/json")


@router.post(
    "/analytics/compute",
    response_model=AnalyticsResponse,
    summary="Usage, success, performance, trend and distribution of one pattern in a time window",
)
async def compute(
    req: AnalyticsRequest, conn: ConnectionDep, settings: SettingsDep, request: Request
) -> Response:
    return await _respond(req, conn, settings, request)


@router.get("/analytics/{pattern_id}", response_model=AnalyticsResponse, summary="analytics/compute as a GET")
async def get_analytics(
    pattern_id: str,
    conn: ConnectionDep,
    settings: SettingsDep,
    request: Request,
    time_window: WindowType = "weekly",
    include_performance: bool = True,
    include_trends: bool = True,
    include_distribution: bool = False,
    time_window_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
    as_of: AsOf | None = None,
    min_sample_size: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    req = AnalyticsRequest(
        pattern_id=pattern_id,
        time_window_type=time_window,
        include_performance=include_performance,
        include_trends=include_trends,
        include_distribution=include_distribution,
        time_window_days=time_window_days,
        as_of=as_of,
        min_sample_size=min_sample_size,
    )
    return await _respond(req, conn, settings, request)
