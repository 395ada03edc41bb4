"""GET /health: database reachability, pool usage and the deriver's state."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from traceability.exporter.storage.errors import TRANSIENT_DB_ERRORS
from traceability.lineage_api.dependencies import PoolHolderDep
from traceability.lineage_api.errors import DatabaseUnavailable
from traceability.lineage_api.store import snapshot

router = APIRouter(tags=["health"])
_UNHEALTHY: tuple[type[Exception], ...] = (DatabaseUnavailable, *TRANSIENT_DB_ERRORS)


@router.get("/health", summary="Service health (200 healthy, 503 when PostgreSQL is unreachable)")
async def health(request: Request, holder: PoolHolderDep) -> JSONResponse:
    started = time.perf_counter()
    db_ok, db_error = True, None
    try:
        pool = await holder.get()
        async with pool.acquire() as conn:
            await snapshot.ping(conn)
    except _UNHEALTHY as exc:
        db_ok = False
        db_error = exc.message if isinstance(exc, DatabaseUnavailable) else f"database unavailable: {exc}"
    pool = holder.pool
    deriver = getattr(request.app.state, "deriver", None)
    deriver_status: dict[str, Any] = {"enabled": deriver is not None}
    if deriver is not None:
        s = deriver.status
        deriver_status |= {
            "running": s.running,
            "executions_processed": s.executions_processed,
            "spans_skipped": s.spans_skipped,
            "last_run_at": datetime.fromtimestamp(s.last_run_at, UTC).isoformat() if s.last_run_at else None,
            "last_error": s.last_error,
        }
    component = "healthy" if db_ok else "unavailable"
    body: dict[str, Any] = {
        "success": db_ok,
        "status": "healthy" if db_ok else "degraded",
        "components": {
            "database": component,
            "lineage_tracker": component,
            "usage_analytics": component,
            "feedback_orchestrator": component,
            "pattern_deriver": deriver_status,
        },
        "performance": {
            "database_pool": {
                "min_size": pool.get_min_size() if pool else None,
                "max_size": pool.get_max_size() if pool else None,
                "pool_size": pool.get_size() if pool else 0,
                "free_size": pool.get_idle_size() if pool else 0,
            }
        },
        "timestamp": datetime.now(UTC).isoformat(),
        "response_time_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    if not db_ok:
        body["error"] = db_error
        body["metadata"] = {"status_code": 503, "path": request.url.path}
    return JSONResponse(body, status_code=200 if db_ok else 503)
