"""The feedback loop on real executions: scipy's p-values, apply persisted in the lineage, variant assignment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import numpy as np
import pytest
from scipy import stats

from tests.support.analytics_data import add_node, copy_executions, generate, uniform_times

AS_OF = datetime(2026, 3, 18, 14, 27, 31, tzinfo=UTC)
WINDOW_START = AS_OF - timedelta(days=7)


async def two_versions(
    db_pool: asyncpg.Pool,
    *,
    n: int = 120,
    control_ms: float = 500.0,
    treatment_ms: float = 500.0,
    control_success: float = 0.9,
    treatment_success: float = 0.9,
    seed: int = 1,
) -> tuple[Any, Any, list, list]:
    rng = np.random.default_rng(seed)
    async with db_pool.acquire() as conn:
        control = await add_node(conn, "pat", "1.0.0", created_at=AS_OF - timedelta(days=30))
        treatment = await add_node(conn, "pat", "1.1.0", created_at=AS_OF - timedelta(days=8))
        await conn.execute(
            """INSERT INTO pattern_lineage_edges (source_node_id, target_node_id, edge_type, transformation_type)
               VALUES ($1, $2, 'modified_from', 'refactor')""",
            control,
            treatment,
        )
        c_rows = generate(
            rng, control, "pat", uniform_times(rng, WINDOW_START, AS_OF, n),
            duration_mean=control_ms, duration_sd=60, success_p=control_success, blocked_p=0.0,
        )  # fmt: skip
        t_rows = generate(
            rng, treatment, "pat", uniform_times(rng, WINDOW_START, AS_OF, n),
            duration_mean=treatment_ms, duration_sd=60, success_p=treatment_success, blocked_p=0.0,
        )  # fmt: skip
        old = generate(rng, control, "pat", uniform_times(rng, AS_OF - timedelta(days=20), WINDOW_START, 50))
        await copy_executions(conn, c_rows + t_rows + old)
    return control, treatment, c_rows, t_rows


def durations(rows: list) -> np.ndarray:
    return np.array([r.duration_ms for r in rows if r.duration_ms is not None])


async def analyze(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("pattern_id", "pat")
    body.setdefault("as_of", AS_OF.isoformat())
    resp = await client.post("/feedback/analyze", json=body)
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()["data"]
    return data


async def statuses(db_pool: asyncpg.Pool) -> dict[str, str]:
    async with db_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT pattern_version, status FROM pattern_lineage_nodes WHERE pattern_id = 'pat'"
        )
    return {r["pattern_version"]: r["status"] for r in rows}


async def test_faster_version_is_validated_and_applied(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool
) -> None:
    control, treatment, c_rows, t_rows = await two_versions(db_pool, control_ms=500, treatment_ms=400)
    out = await analyze(client)
    expected_p = stats.ttest_ind(durations(t_rows), durations(c_rows), equal_var=False).pvalue
    (result,) = out["validation_results"]
    assert result["test"] == "welch_t_test" and result["status"] == "validated"
    assert result["p_value"] == pytest.approx(expected_p, rel=1e-9, abs=1e-300)
    assert out["p_value"] == result["p_value"] and out["statistically_significant"] is True
    assert out["confidence_score"] == pytest.approx(1 - expected_p)
    c_mean, t_mean = durations(c_rows).mean(), durations(t_rows).mean()
    assert out["performance_delta"] == pytest.approx((c_mean - t_mean) / c_mean, rel=1e-9)
    assert out["baseline_metrics"]["avg_execution_time_ms"] == pytest.approx(c_mean, rel=1e-12)
    assert out["improved_metrics"]["avg_execution_time_ms"] == pytest.approx(t_mean, rel=1e-12)
    assert out["feedback_collected"] == out["executions_analyzed"] == len(c_rows) + len(t_rows)
    assert out["improvements_identified"] == 1 and out["improvement_opportunities"][0]["source"] == "variant"
    assert out["improvements_applied"] == 1 and out["improvements_rejected"] == 0
    assert out["workflow_stages"] == {
        "collect": "completed", "analyze": "completed", "validate": "completed", "apply": "completed"
    }  # fmt: skip
    assert out["applied"]["promoted_node_id"] == str(treatment) and out["applied"]["edge_created"] is True
    # persisted: statuses, the replaced_by edge, the two events
    assert await statuses(db_pool) == {"1.0.0": "deprecated", "1.1.0": "promoted"}
    async with db_pool.acquire() as conn:
        edge = await conn.fetchrow(
            "SELECT edge_type, transformation_type, edge_weight FROM pattern_lineage_edges "
            "WHERE source_node_id = $1 AND target_node_id = $2 AND edge_type = 'replaced_by'",
            control,
            treatment,
        )
        assert edge["transformation_type"] == "optimization"
        assert float(edge["edge_weight"]) == pytest.approx(round(1 - expected_p, 4))
        events = await conn.fetch(
            "SELECT node_id, event_type, reason FROM pattern_lineage_events WHERE triggered_by = 'feedback_loop' "
            "ORDER BY event_type"
        )
        assert [(e["node_id"], e["event_type"]) for e in events] == [
            (control, "pattern_deprecated"),
            (treatment, "pattern_promoted"),
        ]
    # the winner is now the control, alone: nothing left to test or apply
    again = await analyze(client)
    assert again["validation_results"] == [] and again["applied"] is None
    assert again["baseline_metrics"]["node_id"] == str(treatment)


async def test_no_real_difference_is_rejected(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    _, _, c_rows, t_rows = await two_versions(db_pool, control_ms=500, treatment_ms=500, seed=4)
    out = await analyze(client, feedback_type="all")
    by_metric = {v["metric"]: v for v in out["validation_results"]}
    assert set(by_metric) == {"execution_time", "quality_score", "success_rate"}
    assert by_metric["execution_time"]["p_value"] == pytest.approx(
        stats.ttest_ind(durations(t_rows), durations(c_rows), equal_var=False).pvalue, rel=1e-9
    )
    assert all(v["status"] == "not_significant" for v in by_metric.values())
    assert out["improvements_applied"] == 0 and out["applied"] is None
    assert out["improvements_rejected"] == out["improvements_identified"]
    assert out["workflow_stages"]["apply"] == "skipped"
    assert await statuses(db_pool) == {"1.0.0": "active", "1.1.0": "active"}


async def test_mann_whitney_and_proportion_tests(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    _, _, c_rows, t_rows = await two_versions(
        db_pool, control_ms=500, treatment_ms=470, control_success=0.7, treatment_success=0.9, seed=5
    )
    common = {"feedback_type": "all", "auto_apply": False}
    out = await analyze(client, continuous_test="mann_whitney", proportion_test="fisher", **common)
    by_metric = {v["metric"]: v for v in out["validation_results"]}
    mw = stats.mannwhitneyu(durations(t_rows), durations(c_rows), alternative="two-sided")
    assert by_metric["execution_time"]["test"] == "mann_whitney_u"
    assert by_metric["execution_time"]["p_value"] == pytest.approx(mw.pvalue, rel=1e-9)
    scores = [
        np.array([r.quality_score for r in rows if r.quality_score is not None]) for rows in (t_rows, c_rows)
    ]
    assert by_metric["quality_score"]["p_value"] == pytest.approx(
        stats.mannwhitneyu(*scores).pvalue, rel=1e-9
    )
    ok_t, ok_c = sum(r.success for r in t_rows), sum(r.success for r in c_rows)
    table = [[ok_t, len(t_rows) - ok_t], [ok_c, len(c_rows) - ok_c]]
    assert by_metric["success_rate"]["test"] == "fisher_exact"
    assert by_metric["success_rate"]["p_value"] == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-9)
    assert by_metric["success_rate"]["status"] == "validated"
    assert out["applied"] is None and "auto_apply is false" in " ".join(out["warnings"])

    out = await analyze(client, proportion_test="two_proportion", **common)
    by_metric = {v["metric"]: v for v in out["validation_results"]}
    chi2 = stats.chi2_contingency(np.array(table), correction=False)
    assert by_metric["success_rate"]["test"] == "two_proportion_z_test"
    assert by_metric["success_rate"]["p_value"] == pytest.approx(chi2.pvalue, rel=1e-9)
    assert by_metric["success_rate"]["statistic"] == pytest.approx(np.sqrt(chi2.statistic))


async def test_min_sample_size_is_honoured(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    await two_versions(db_pool, n=25, control_ms=500, treatment_ms=300)
    out = await analyze(client)
    (result,) = out["validation_results"]
    assert result["status"] == "insufficient_data" and result["p_value"] is None
    assert result["control_n"] < 30 or result["treatment_n"] < 30
    assert out["applied"] is None and await statuses(db_pool) == {"1.0.0": "active", "1.1.0": "active"}
    out = await analyze(client, min_sample_size=10)
    assert out["validation_results"][0]["status"] == "validated" and out["applied"] is not None


async def test_regression_blocks_apply(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    await two_versions(
        db_pool, n=150, control_ms=500, treatment_ms=420, control_success=0.95, treatment_success=0.6
    )
    out = await analyze(client, feedback_type="all")
    by_metric = {v["metric"]: v for v in out["validation_results"]}
    assert by_metric["execution_time"]["status"] == "validated"
    assert by_metric["success_rate"]["status"] == "regression"
    assert out["applied"] is None and await statuses(db_pool) == {"1.0.0": "active", "1.1.0": "active"}


async def test_manual_apply(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    control, treatment, _, _ = await two_versions(db_pool, control_ms=500, treatment_ms=495, seed=8)
    out = await analyze(client, auto_apply=False)
    (result,) = out["validation_results"]
    assert result["status"] == "not_significant"
    params = {"pattern_id": "pat", "as_of": AS_OF.isoformat(), "feedback_type": "performance"}
    resp = await client.post("/feedback/apply", params={**params, "improvement_ids": "nope"})
    assert resp.status_code == 404 and result["improvement_id"] in resp.json()["error"]
    resp = await client.post(
        "/feedback/apply", params={**params, "improvement_ids": result["improvement_id"]}
    )
    assert resp.status_code == 409 and "force=true" in resp.json()["error"]
    resp = await client.post(
        "/feedback/apply", params={**params, "improvement_ids": result["improvement_id"], "force": "true"}
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["forced"] is True and data["promoted_node_id"] == str(treatment)
    assert data["deprecated_node_id"] == str(control) and len(data["event_ids"]) == 2
    assert await statuses(db_pool) == {"1.0.0": "deprecated", "1.1.0": "promoted"}
    resp = await client.post("/feedback/apply", params={**params, "force": "true"})
    assert resp.status_code == 409  # one active version left


async def test_variant_assignment(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    control, treatment, _, _ = await two_versions(db_pool, n=5)
    seen = {}
    for i in range(400):
        resp = await client.get(
            "/feedback/assign", params={"pattern_id": "pat", "session_id": f"session-{i}"}
        )
        assert resp.status_code == 200
        seen[i] = resp.json()["data"]
    assert all(d["under_test"] for d in seen.values())
    treated = sum(d["variant"] == "treatment" for d in seen.values())
    assert stats.binomtest(treated, 400, 0.5).pvalue > 0.001
    for i in (0, 1, 2, 3):  # stable per session
        again = (
            await client.get("/feedback/assign", params={"pattern_id": "pat", "session_id": f"session-{i}"})
        ).json()
        assert again["data"]["node_id"] == seen[i]["node_id"]
        expected = str(treatment) if seen[i]["variant"] == "treatment" else str(control)
        assert seen[i]["node_id"] == expected
    none = await client.get(
        "/feedback/assign", params={"pattern_id": "pat", "session_id": "x", "treatment_share": 0}
    )
    assert none.json()["data"]["variant"] == "control"
    missing = await client.get("/feedback/assign", params={"pattern_id": "missing", "session_id": "x"})
    assert missing.status_code == 404


async def test_unknown_pattern_and_bad_settings(client: httpx.AsyncClient) -> None:
    resp = await client.post("/feedback/analyze", json={"pattern_id": "missing"})
    assert resp.status_code == 404 and resp.json()["error"] == "pattern 'missing' not found"
    resp = await client.post("/feedback/analyze", json={"pattern_id": "p", "min_sample_size": 5})
    assert resp.status_code == 422 and "min_sample_size" in resp.json()["error"]
    resp = await client.post("/feedback/analyze", json={"pattern_id": "p", "significance_level": 0.5})
    assert resp.status_code == 422
