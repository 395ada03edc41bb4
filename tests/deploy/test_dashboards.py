"""Every panel of the shipped Grafana dashboard runs against the migrated schema filled with
demo-like rows, returns the columns the panel expects, and the figures agree with numpy."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import asyncpg
import numpy as np
import pytest
import yaml

from tests.support import synthetic_rows
from traceability.lineage_api.store import grafana_sql

REPO = Path(__file__).resolve().parents[2]
PROVISIONING = REPO / "otel-config" / "grafana" / "provisioning"

# The columns each panel's query must return (what its field overrides, links and legends use).
EXPECTED_COLUMNS = {
    "Turns": ["turns"],
    "Tool calls": ["tool calls"],
    "Tool success rate": ["success rate"],
    "Avg quality score": ["quality score"],
    "RAG hit rate": ["hit rate"],
    "Patterns used": ["patterns"],
    "Hook latency p95 by hook": ["time", "metric", "p95"],
    "Hook latency by hook and tool (p50 / p95 / p99)": ["hook", "tool", "runs", "p50 ms", "p95 ms", "p99 ms"],
    "Tool success, error and blocked rates": ["time", "success rate", "error rate", "blocked rate"],
    "Tool run time by tool (Claude Code duration_ms)": [
        "tool",
        "calls",
        "success rate",
        "p50 ms",
        "p95 ms",
        "p99 ms",
    ],
    "Quality score over time": ["time", "metric", "quality score"],
    "RAG hit rate over time": ["time", "hit rate", "queries"],
    "Top patterns": [
        "pattern",
        "name",
        "versions",
        "executions",
        "success rate",
        "avg quality",
        "p95 ms",
        "trend",
        "last used",
    ],
    "Top patterns: executions over time": ["time", "metric", "executions"],
    "Recent turns with failures": ["time", "trace id", "session", "outcome", "failed spans", "error"],
}


@pytest.fixture
async def filled(db_pool: asyncpg.Pool) -> synthetic_rows.SyntheticData:
    data = synthetic_rows.generate()
    async with db_pool.acquire() as conn:
        await synthetic_rows.insert(conn, data)
    return data


def _range(data: synthetic_rows.SyntheticData) -> grafana_sql.TimeRange:
    return grafana_sql.TimeRange.last(timedelta(days=15), now=data.end + timedelta(hours=1))


def test_dashboard_json_is_well_formed() -> None:
    dashboard = grafana_sql.load_dashboard()
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels), "panel ids must be unique"
    titles = [p["title"] for p in panels]
    assert sorted(titles) == sorted(EXPECTED_COLUMNS), "every panel has an expected-columns contract here"
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "datasources.yaml").read_text())
    uids = {d["uid"]: d["type"] for d in provisioned["datasources"]}
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["targets"], panel["title"]
        for target in [panel, *panel["targets"]]:
            ds = target["datasource"]
            assert uids.get(ds["uid"]) == ds["type"], f"{panel['title']}: datasource {ds} is not provisioned"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in panels:
        for override in panel["fieldConfig"]["overrides"]:
            for prop in override["properties"]:
                if prop["id"] == "links":
                    for link in prop["value"]:
                        used = set(re.findall(r"\$\{(\w+)\}", link["url"]))
                        assert used <= variables | {"__value"}, (
                            f"{panel['title']}: link uses undefined {used}"
                        )


async def test_every_panel_query_returns_its_columns(
    filled: synthetic_rows.SyntheticData, db_pool: asyncpg.Pool
) -> None:
    queries = grafana_sql.panel_queries(grafana_sql.load_dashboard())
    rng = _range(filled)
    async with db_pool.acquire() as conn:
        for query in queries:
            columns, rows = await grafana_sql.run_query(conn, query, rng)
            assert columns == EXPECTED_COLUMNS[query.title], query.title
            assert rows, f"{query.title}: no rows from demo-like data"
            for name in query.override_names:
                assert name in columns, f"{query.title}: override names missing column {name!r}"
            for pattern in query.override_patterns:
                assert any(re.fullmatch(pattern, c) for c in columns), (
                    f"{query.title}: {pattern!r} matches nothing"
                )
            if query.fmt == "time_series":
                assert columns[0] == "time"
                times = [r[0] for r in rows]
                assert times == sorted(times), f"{query.title}: time series must be ordered by time"
                assert all(t % rng.interval_s == 0 for t in times), f"{query.title}: buckets off the interval"
                value_columns = [i for i, c in enumerate(columns) if c not in ("time", "metric")]
                assert value_columns
                for row in rows:
                    for i in value_columns:
                        assert (
                            row[i] is None or isinstance(row[i], int | float) or hasattr(row[i], "is_finite")
                        )
            if query.panel_type == "stat":
                assert len(rows) == 1 and len(columns) == 1


async def test_figures_agree_with_numpy(filled: synthetic_rows.SyntheticData, db_pool: asyncpg.Pool) -> None:
    by_title = {q.title: q for q in grafana_sql.panel_queries(grafana_sql.load_dashboard())}
    rng = _range(filled)
    tools = filled.tool_spans()
    async with db_pool.acquire() as conn:
        _, rows = await grafana_sql.run_query(conn, by_title["Tool success rate"], rng)
        assert float(rows[0][0]) == pytest.approx(np.mean([s["success"] for s in tools]))

        _, rows = await grafana_sql.run_query(
            conn, by_title["Hook latency by hook and tool (p50 / p95 / p99)"], rng
        )
        table = {(r[0], r[1]): r for r in rows}
        for (hook, tool), row in table.items():
            durations = [
                s["duration_ms"]
                for s in filled.hook_spans()
                if s["hook_type"] == hook and (s["tool_name"] or "-") == tool
            ]
            assert row[2] == len(durations)
            expected = np.percentile(durations, [50, 95, 99])  # linear interpolation == percentile_cont
            assert [row[3], row[4], row[5]] == pytest.approx(list(expected))

        _, rows = await grafana_sql.run_query(conn, by_title["RAG hit rate"], rng)
        queried = [s for s in filled.hook_spans() if s["rag_query_performed"]]
        hits = [s["attributes"]["traceability.rag.matches"] > 0 for s in queried]
        assert float(rows[0][0]) == pytest.approx(np.mean(hits))

        _, rows = await grafana_sql.run_query(conn, by_title["Top patterns"], rng)
        mid = rng.start + (rng.end - rng.start) / 2
        min_sample = int(grafana_sql.variables(grafana_sql.load_dashboard())["min_sample"])
        assert min_sample == 30
        sizes = set()
        for row in rows:
            mine = [e for e in filled.executions if e["pattern_id"] == row[0]]
            assert row[3] == len(mine)
            assert float(row[4]) == pytest.approx(np.mean([e["success"] for e in mine]))
            late = sum(e["executed_at"] >= mid for e in mine)
            early = len(mine) - late
            if len(mine) < min_sample:  # no trend from a tiny sample
                assert row[7] is None
            else:
                assert row[7] == pytest.approx((late - early) / max(early, 1))
            sizes.add(len(mine) >= min_sample)
        assert sizes == {True, False}  # the data has patterns on both sides of the minimum
        assert [r[3] for r in rows] == sorted((r[3] for r in rows), reverse=True)

        _, rows = await grafana_sql.run_query(conn, by_title["Recent turns with failures"], rng)
        traces = {t["id"].hex: t for t in filled.traces}
        failed_spans = Counter(s["trace_id"].hex for s in filled.spans if not s["success"])
        with_failures = {h for h, t in traces.items() if not t["success"] or failed_spans[h]}
        assert len(rows) == min(50, len(with_failures)) and {r[1] for r in rows} <= with_failures
        assert [r[0] for r in rows] == sorted((r[0] for r in rows), reverse=True)
        # the outcome says what happened to the turn: never a bare "completed" in this panel
        for row in rows:
            trace = traces[row[1]]
            expected = trace["status"] if not trace["success"] else "completed with failed steps"
            assert (row[3], row[4]) == (expected, failed_spans[row[1]])
        assert {r[3] for r in rows} == {"abandoned", "completed with failed steps"}


def test_dashboard_variables_are_interpolated() -> None:
    values = {"min_sample": "30", "api_url": "http://x"}
    sql = grafana_sql.interpolate("SELECT ${min_sample}, $min_sample, $__timeFrom(), $1, $other", values)
    assert sql == "SELECT 30, 30, $__timeFrom(), $1, $other"


def test_macro_expansion() -> None:
    from datetime import UTC, datetime

    rng = grafana_sql.TimeRange(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC), 3600)
    sql = grafana_sql.expand_macros(
        "SELECT $__timeGroupAlias(t, $__interval), x FROM y WHERE $__timeFilter(t) AND t > $__timeFrom()", rng
    )
    assert 'floor(extract(epoch from t)/3600)*3600 AS "time"' in sql
    assert "t BETWEEN '2026-01-01T00:00:00+00:00' AND '2026-01-02T00:00:00+00:00'" in sql
    assert sql.endswith("t > '2026-01-01T00:00:00+00:00'")
    with pytest.raises(ValueError, match="unsupported"):
        grafana_sql.expand_macros("SELECT $__unixEpochFilter(t)", rng)


def test_render_draws_every_panel(filled: synthetic_rows.SyntheticData, db_dsn: str, tmp_path: Path) -> None:
    """`traceability dashboard render` runs the panels' SQL and writes a PNG of the whole grid."""
    import subprocess
    import sys

    from PIL import Image

    out = tmp_path / "dashboard.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "traceability.cli.main",
            "dashboard",
            "render",
            "--db-url",
            db_dsn,
            "--out",
            str(out),
            "--days",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "15 panels" in result.stdout
    with Image.open(out) as image:
        width, height = image.size
        assert width > 1000 and height > 1000
        assert len(image.convert("RGB").getcolors(1 << 20) or []) > 50  # drawn, not a blank canvas
