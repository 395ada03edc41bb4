"""Issue 11 item 6: NaN and +-Infinity never reach a double column, so analytics never average them."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import numpy as np
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from tests.support.collector import running_collector
from tests.support.db import fetch
from tests.support.scripted_session import ScriptedSession
from tests.support.spans import make_turn
from traceability.instrumentation import semconv as sc
from traceability.lineage_api.deriver.pipeline import PatternDeriver

CODE = "def area(r):\n    return 3.14159 * r * r\n"

SPAN_DURATION_MS = 40.0  # ScriptedSession's tool spans last 40 ms


def test_non_finite_doubles_are_stored_as_absent_over_http(db_dsn: str, tmp_path: Path) -> None:
    request = encode_spans(make_turn(0xD100, hooks=3))
    hooks = [s for s in request.resource_spans[0].scope_spans[0].spans if s.parent_span_id]
    planted = [(math.inf, -math.inf), (math.nan, 12.5), (0.75, math.inf)]
    for span, (score, duration) in zip(hooks, planted, strict=True):
        for kv in span.attributes:
            if kv.key == sc.QUALITY_SCORE:
                kv.value.double_value = score
        span.attributes.add(key=sc.DURATION_MS).value.double_value = duration
    with running_collector(db_dsn, tmp_path) as collector:
        response = httpx.post(
            collector.traces_url,
            content=request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
    assert response.status_code == 200, response.text
    rows = fetch(
        db_dsn, "SELECT quality_score, tool_duration_ms FROM hook_executions ORDER BY execution_order"
    )
    assert [(r["quality_score"], r["tool_duration_ms"]) for r in rows] == [
        (None, None),
        (None, 12.5),
        (0.75, None),
    ]


async def test_non_finite_values_are_not_averaged_by_analytics(
    db_pool: asyncpg.Pool, db_dsn: str, client: httpx.AsyncClient
) -> None:
    scores = [0.9, math.inf, 0.7, -math.inf, math.nan, 0.5]
    durations = [10.0, -math.inf, 30.0, math.inf, 50.0, math.nan]
    session = ScriptedSession()
    session.turn()
    for score, duration in zip(scores, durations, strict=True):
        session.tool("Write", "/repo/area.py", CODE, quality_score=score, duration_ms=duration)
    await session.flush(db_dsn)
    result = await PatternDeriver().run(db_pool)
    assert (result.executions, result.failed) == (6, 0)
    async with db_pool.acquire() as conn:
        pattern_ids = {r[0] for r in await conn.fetch("SELECT DISTINCT pattern_id FROM pattern_executions")}
    assert len(pattern_ids) == 1
    resp = await client.post(
        "/analytics/compute",
        json={
            "pattern_id": pattern_ids.pop(),
            "time_window_days": 30,
            "as_of": datetime(2026, 6, 1, tzinfo=UTC).isoformat(),
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    finite_scores = np.array([s for s in scores if math.isfinite(s)])
    # an absent tool duration falls back to the span's own duration, as for any tool span
    measured = np.array([d if math.isfinite(d) else SPAN_DURATION_MS for d in durations])
    assert body["success_metrics"]["quality_scored_executions"] == finite_scores.size
    assert body["success_metrics"]["avg_quality_score"] == pytest.approx(finite_scores.mean(), rel=1e-12)
    assert body["performance_metrics"]["avg_execution_time_ms"] == pytest.approx(measured.mean(), rel=1e-12)
    assert body["performance_metrics"]["max_execution_time_ms"] == pytest.approx(measured.max(), rel=1e-12)
