"""analytics/compute against numpy on generated executions, through HTTP (in process) and real PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import numpy as np
import pytest
from scipy import stats

from tests.support.analytics_data import (
    add_node,
    assert_same,
    copy_executions,
    expected,
    generate,
    uniform_times,
)

AS_OF = datetime(2026, 3, 18, 14, 27, 31, 123456, tzinfo=UTC)  # not on a whole hour: split hours exist


async def compute(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("as_of", AS_OF.isoformat())
    resp = await client.post("/analytics/compute", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def check_against_numpy(result: dict[str, Any], exp: dict[str, Any], days: int) -> None:
    usage, success, perf = result["usage_metrics"], result["success_metrics"], result["performance_metrics"]
    n = exp["n"]
    assert usage["total_executions"] == n
    assert usage["executions_per_day"] == pytest.approx(n / max(days, 1), rel=1e-12)
    assert usage["executions_per_week"] == pytest.approx(n / max(days / 7, 1), rel=1e-12)
    assert usage["unique_contexts"] == exp["sessions"]
    assert usage["unique_users"] == exp["users"]
    assert usage["peak_daily_usage"] == exp["peak_daily"]
    assert success["successful_executions"] == exp["ok"]
    assert success["blocked_executions"] == exp["blocked"]
    assert success["success_rate"] == pytest.approx(exp["ok"] / n if n else 0.0, rel=1e-12)
    assert success["error_rate"] == pytest.approx((n - exp["ok"]) / n if n else 0.0, rel=1e-12)
    assert success["quality_scored_executions"] == exp["scores"].size
    if exp["scores"].size:
        assert success["avg_quality_score"] == pytest.approx(float(exp["scores"].mean()), rel=1e-12)
    else:  # no data: 0.0 with a sample size of 0 (a client formatting the figure must not crash)
        assert success["avg_quality_score"] == 0.0
    d = exp["durations"]
    assert perf["measured_executions"] == d.size
    if d.size:
        p50, p95, p99 = np.percentile(d, [50, 95, 99])
        assert perf["avg_execution_time_ms"] == pytest.approx(float(d.mean()), rel=1e-12)
        assert perf["p50_execution_time_ms"] == pytest.approx(float(p50), rel=1e-12)
        assert perf["p95_execution_time_ms"] == pytest.approx(float(p95), rel=1e-12)
        assert perf["p99_execution_time_ms"] == pytest.approx(float(p99), rel=1e-12)
        assert perf["min_execution_time_ms"] == float(d.min())
        assert perf["max_execution_time_ms"] == float(d.max())
        if d.size > 1:
            assert perf["std_execution_time_ms"] == pytest.approx(float(d.std(ddof=1)), rel=1e-9)
    else:
        assert perf["avg_execution_time_ms"] is None and perf["p99_execution_time_ms"] is None
    trend = result["trend_analysis"]
    assert trend["period_counts"] == exp["counts"]
    assert trend["sample_size"] == n
    if n < trend["min_sample_size"]:
        assert trend["trend_type"] == "insufficient_data" and trend["growth_percentage"] == 0.0
    elif len(exp["counts"]) > 1:
        slope = stats.linregress(np.arange(len(exp["counts"])), exp["counts"]).slope
        assert trend["velocity"] == pytest.approx(float(slope), rel=1e-9, abs=1e-12)
    assert result["total_data_points"] == n


@pytest.mark.parametrize(
    ("window", "days", "periods"),
    [("weekly", 7, 7), ("daily", 1, 24), ("hourly", 1, 24), ("monthly", 30, 30)],
)
async def test_metrics_match_numpy(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool, window: str, days: int, periods: int
) -> None:
    rng = np.random.default_rng(7)
    async with db_pool.acquire() as conn:
        v1 = await add_node(conn, "pat", "1.0.0")
        v2 = await add_node(conn, "pat", "1.1.0")
        other = await add_node(conn, "other", "1.0.0")
        times = uniform_times(rng, AS_OF - timedelta(days=40), AS_OF + timedelta(hours=3), 3000)
        rows = generate(rng, v1, "pat", times[:2000]) + generate(rng, v2, "pat", times[2000:])
        await copy_executions(conn, rows)
        await copy_executions(conn, generate(rng, other, "other", times[:500]))
    result = await compute(client, pattern_id="pat", time_window_type=window, include_distribution=True)
    start, end = (
        datetime.fromisoformat(result["time_window"]["start"]),
        datetime.fromisoformat(result["time_window"]["end"]),
    )
    assert end == AS_OF and start == AS_OF - timedelta(days=days)
    assert result["time_window"]["periods"] == periods
    exp = expected(rows, start, end, result["time_window"]["period_seconds"], periods)
    assert exp["n"] > 50
    check_against_numpy(result, exp, days)
    dist = result["distribution"]
    assert dist["by_tool"] == dict(sorted(exp["tools"].items()))
    assert dist["by_file_extension"] == dict(sorted(exp["extensions"].items()))
    assert dist["by_user"] == dict(sorted(exp["users_by"].items()))
    assert dist["by_hour_of_day"] == {k: exp["hours"][k] for k in sorted(exp["hours"], key=int)}
    assert dist["by_weekday"] == {k: exp["weekdays"][k] for k in sorted(exp["weekdays"], key=int)}
    assert sum(dist["by_version"].values()) == exp["n"]
    # The raw computation gives the same numbers as the rollups.
    raw = await compute(
        client, pattern_id="pat", time_window_type=window, include_distribution=True, use_rollups=False
    )
    for timing in ("computation_time_ms", "processing_time_ms"):
        raw.pop(timing), result.pop(timing)
    assert_same(raw, result)


async def test_custom_window_on_whole_hour(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    rng = np.random.default_rng(11)
    as_of = datetime(2026, 3, 18, 14, tzinfo=UTC)
    async with db_pool.acquire() as conn:
        node = await add_node(conn, "pat")
        rows = generate(rng, node, "pat", uniform_times(rng, as_of - timedelta(days=12), as_of, 800))
        await copy_executions(conn, rows)
    result = await compute(client, pattern_id="pat", time_window_days=10, as_of=as_of.isoformat())
    assert result["time_window"]["type"] == "daily" and result["time_window"]["periods"] == 10
    check_against_numpy(result, expected(rows, as_of - timedelta(days=10), as_of, 86400, 10), 10)


async def test_no_executions(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    async with db_pool.acquire() as conn:
        await add_node(conn, "pat")
    result = await compute(client, pattern_id="pat")
    assert result["usage_metrics"]["total_executions"] == 0
    assert (
        result["usage_metrics"]["unique_contexts"] == 0
        and result["usage_metrics"]["last_execution_at"] is None
    )
    success = result["success_metrics"]
    assert success["success_rate"] == 0.0 and success["error_rate"] == 0.0
    assert success["avg_quality_score"] == 0.0 and success["quality_scored_executions"] == 0
    assert result["performance_metrics"]["measured_executions"] == 0
    trend = result["trend_analysis"]
    assert trend["trend_type"] == "insufficient_data" and trend["growth_percentage"] == 0.0
    assert trend["sample_size"] == 0 and trend["min_sample_size"] == 30
    assert trend["confidence_score"] == 0.0
    assert result["analytics_quality_score"] == pytest.approx(0.3 * 7 / 30)


async def test_one_execution(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    rng = np.random.default_rng(3)
    async with db_pool.acquire() as conn:
        node = await add_node(conn, "pat")
        rows = generate(
            rng, node, "pat", [AS_OF - timedelta(hours=30)], null_p=0.0, success_p=1.0, blocked_p=0.0
        )
        await copy_executions(conn, rows)
    result = await compute(client, pattern_id="pat")
    check_against_numpy(result, expected(rows, AS_OF - timedelta(days=7), AS_OF, 86400, 7), 7)
    perf = result["performance_metrics"]
    assert perf["p50_execution_time_ms"] == perf["p99_execution_time_ms"] == rows[0].duration_ms
    assert perf["std_execution_time_ms"] is None
    assert result["success_metrics"]["success_rate"] == 1.0
    assert result["usage_metrics"]["time_since_last_use_hours"] == pytest.approx(30.0)


async def test_all_failures(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    rng = np.random.default_rng(5)
    async with db_pool.acquire() as conn:
        node = await add_node(conn, "pat")
        rows = generate(
            rng, node, "pat", uniform_times(rng, AS_OF - timedelta(days=6), AS_OF, 300), success_p=0.0
        )
        await copy_executions(conn, rows)
    result = await compute(client, pattern_id="pat")
    assert result["success_metrics"]["success_rate"] == 0.0
    assert result["success_metrics"]["error_rate"] == 1.0
    check_against_numpy(result, expected(rows, AS_OF - timedelta(days=7), AS_OF, 86400, 7), 7)


async def test_single_day(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    rng = np.random.default_rng(9)
    day = datetime(2026, 3, 15, tzinfo=UTC)
    async with db_pool.acquire() as conn:
        node = await add_node(conn, "pat")
        rows = generate(rng, node, "pat", uniform_times(rng, day, day + timedelta(days=1), 400))
        await copy_executions(conn, rows)
    result = await compute(client, pattern_id="pat")
    exp = expected(rows, AS_OF - timedelta(days=7), AS_OF, 86400, 7)
    assert exp["n"] == 400 and exp["peak_daily"] == 400
    check_against_numpy(result, exp, 7)
    assert (
        sum(1 for c in result["trend_analysis"]["period_counts"] if c) <= 2
    )  # one day spans at most two periods


async def test_unknown_pattern_is_404(client: httpx.AsyncClient) -> None:
    resp = await client.post("/analytics/compute", json={"pattern_id": "nope"})
    assert resp.status_code == 404
    assert resp.json()["error"] == "pattern 'nope' not found"


async def test_bad_window_type_is_422(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/analytics/compute", json={"pattern_id": "p", "time_window_type": "fortnightly"}
    )
    assert resp.status_code == 422
    assert "hourly" in resp.json()["error"] and "yearly" in resp.json()["error"]


async def test_unrepresentable_as_of_is_422_not_500(client: httpx.AsyncClient) -> None:
    """Found by schemathesis: a year-1 window end overflowed date arithmetic into a 500."""
    for method, path, kwargs in (
        ("POST", "/analytics/compute", {"json": {"pattern_id": "p", "as_of": "0001-01-01T00:00:00"}}),
        ("GET", "/analytics/p", {"params": {"as_of": "0001-01-01T00:00:00+05:00"}}),
        ("POST", "/feedback/analyze", {"json": {"pattern_id": "p", "as_of": "9999-12-31T23:59:59"}}),
    ):
        resp = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert resp.status_code == 422, (path, resp.text)
        assert "as_of must be between 1980-01-01 and 9000-01-01" in resp.json()["error"]


async def test_get_wrapper_equals_post(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    rng = np.random.default_rng(13)
    async with db_pool.acquire() as conn:
        node = await add_node(conn, "pat")
        await copy_executions(
            conn, generate(rng, node, "pat", uniform_times(rng, AS_OF - timedelta(days=9), AS_OF, 200))
        )
    posted = await compute(client, pattern_id="pat", time_window_type="monthly", include_trends=False)
    resp = await client.get(
        "/analytics/pat",
        params={"time_window": "monthly", "include_trends": "false", "as_of": AS_OF.isoformat()},
    )
    assert resp.status_code == 200
    got = resp.json()
    assert got["trend_analysis"] is None and posted["trend_analysis"] is None
    for body in (got, posted):
        body.pop("computation_time_ms"), body.pop("processing_time_ms")
    assert got == posted


def series_times(counts: list[int], start: datetime, rng: np.random.Generator) -> list[datetime]:
    times = []
    for day, c in enumerate(counts):
        offsets = rng.uniform(0, 86400, c)
        times += [start + timedelta(days=day, seconds=float(o)) for o in offsets]
    return times


@pytest.mark.parametrize(
    ("counts", "before", "trend_type"),
    [
        ([20, 28, 35, 44, 52, 61, 70, 78, 85, 96, 104, 110, 121, 130], True, "growing"),
        ([60, 57, 63, 59, 61, 62, 58, 60, 61, 59, 63, 57, 60, 61], True, "stable"),
        ([130, 118, 110, 101, 92, 85, 74, 66, 55, 47, 40, 31, 22, 15], True, "declining"),
        ([0, 0, 0, 0, 0, 0, 0, 12, 25, 30, 41, 38, 45, 50], False, "emerging"),
        ([55, 60, 52, 58, 49, 40, 31, 20, 9, 3, 0, 0, 0, 0], True, "abandoned"),
    ],
)
async def test_trend_classes(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool, counts: list[int], before: bool, trend_type: str
) -> None:
    rng = np.random.default_rng(21)
    start = AS_OF - timedelta(days=len(counts))
    async with db_pool.acquire() as conn:
        node = await add_node(conn, "pat")
        rows = generate(rng, node, "pat", series_times(counts, start, rng))
        if before:  # the pattern was in use before the window
            rows += generate(rng, node, "pat", [start - timedelta(days=3)])
        await copy_executions(conn, rows)
    result = await compute(client, pattern_id="pat", time_window_days=len(counts))
    trend = result["trend_analysis"]
    assert trend["period_counts"] == counts
    assert trend["trend_type"] == trend_type
    fit = stats.linregress(np.arange(len(counts)), counts)
    assert trend["velocity"] == pytest.approx(fit.slope, rel=1e-9, abs=1e-12)
    assert trend["slope_p_value"] == pytest.approx(fit.pvalue, rel=1e-9, abs=1e-300)
    q = len(counts) // 4
    first, last = sum(counts[:q]), sum(counts[-q:])
    growth = 100.0 if first == 0 else (last - first) / first * 100
    assert trend["growth_percentage"] == pytest.approx(growth)
    n = sum(counts)
    assert trend["confidence_score"] == pytest.approx(0.7 * min(n / 100, 1) + 0.3 * min(len(counts) / 10, 1))
    assert math.isfinite(trend["acceleration"])


async def _tiny_series(db_pool: asyncpg.Pool, counts: list[int]) -> None:
    """Executions per day over the last len(counts) days before AS_OF, and one long before."""
    rng = np.random.default_rng(31)
    start = AS_OF - timedelta(days=len(counts))
    async with db_pool.acquire() as conn:
        node = await add_node(conn, "pat")
        rows = generate(rng, node, "pat", series_times(counts, start, rng))
        rows += generate(rng, node, "pat", [start - timedelta(days=3)])
        await copy_executions(conn, rows)


async def test_tiny_sample_has_no_trend_class_or_growth(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool
) -> None:
    """1 execution, then 6: the growth rule alone would say +500 % and a class; 7 < 30 says insufficient_data."""
    counts = [1, 0, 0, 0, 0, 0, 6]
    await _tiny_series(db_pool, counts)
    trend = (await compute(client, pattern_id="pat"))["trend_analysis"]
    assert trend["period_counts"] == counts
    assert trend["trend_type"] == "insufficient_data"
    assert trend["sample_size"] == 7 and trend["min_sample_size"] == 30
    assert trend["growth_percentage"] == 0.0 and trend["velocity"] == 0.0
    assert trend["slope_p_value"] is None and trend["relative_change"] is None
    # a caller may lower the minimum for one request: the figures are then computed (numpy/scipy)
    trend = (await compute(client, pattern_id="pat", min_sample_size=5))["trend_analysis"]
    assert trend["min_sample_size"] == 5 and trend["trend_type"] != "insufficient_data"
    assert trend["growth_percentage"] == pytest.approx((6 - 1) / 1 * 100)
    fit = stats.linregress(np.arange(len(counts)), counts)
    assert trend["velocity"] == pytest.approx(fit.slope, rel=1e-9)
    assert trend["slope_p_value"] == pytest.approx(fit.pvalue, rel=1e-9)
    resp = await client.get("/analytics/pat", params={"as_of": AS_OF.isoformat(), "min_sample_size": 5})
    assert resp.status_code == 200 and resp.json()["trend_analysis"] == {**trend}
    resp = await client.post("/analytics/compute", json={"pattern_id": "pat", "min_sample_size": 0})
    assert resp.status_code == 422 and "min_sample_size" in resp.json()["error"]


async def test_min_sample_is_a_server_setting(db_dsn: str, db_pool: asyncpg.Pool) -> None:
    """TRACEABILITY_ANALYTICS_MIN_SAMPLE sets the default; at the boundary the class is computed."""
    from traceability.instrumentation.env import ANALYTICS_MIN_SAMPLE_ENV
    from traceability.lineage_api.app import API_PREFIX, create_app
    from traceability.lineage_api.settings import Settings

    counts = [2, 3, 3, 4, 4, 5, 6]  # 27 executions
    await _tiny_series(db_pool, counts)
    for env_value, minimum, insufficient in (("28", 28, True), ("27", 27, False), ("zero", 30, True)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(ANALYTICS_MIN_SAMPLE_ENV, env_value)
            settings = Settings.resolve(db_url=db_dsn, run_deriver=False)
        assert settings.analytics_min_sample_size == minimum  # a bad value: the default, not a crash
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://localhost" + API_PREFIX
            ) as c,
        ):
            trend = (await compute(c, pattern_id="pat"))["trend_analysis"]
        assert trend["sample_size"] == 27 and trend["min_sample_size"] == minimum
        assert (trend["trend_type"] == "insufficient_data") is insufficient
        q = len(counts) // 4
        growth = (sum(counts[-q:]) - sum(counts[:q])) / sum(counts[:q]) * 100
        assert trend["growth_percentage"] == (0.0 if insufficient else pytest.approx(growth))
