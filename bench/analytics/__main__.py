"""bench/analytics: analytics/compute and feedback/analyze through HTTP on a pattern with 100k executions.

    .venv/bin/python -m bench.analytics [--rows 1000000] [--hot 100000] [--samples 300]

Uses ``TRACEABILITY_DB_URL`` as an admin connection to create (and drop) a scratch database, else a
private embedded PostgreSQL cluster. ``pattern_executions`` is loaded with COPY in time order (as
the deriver writes it), so the rollup triggers run as they do in production: ``--rows`` executions
over 90 days, ``--hot`` of them for one pattern with two versions (the newer ~10 % faster), the rest
spread over 1,000 other patterns. Sessions are runs of 20 consecutive executions.

Reported with medians and p99, next to GET health over the same HTTP keep-alive connection:

- POST analytics/compute, quarterly window (every hot execution), and weekly;
- POST feedback/analyze, 90 days, all metrics (Welch, Welch, Fisher), auto_apply off;
- for scale, a few POST analytics/compute with use_rollups=false (the raw computation).

Targets: analytics/compute p99 <= 50 ms, feedback/analyze p99 <= 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import numpy as np

from bench.common import bench_database, progress
from bench.lineage.__main__ import report, start_api, timed
from traceability.exporter.storage import database

HOT = "bench-hot"
OTHER_PATTERNS = 1000
DAYS = 90
CHUNK = 50_000
COLUMNS = [
    "id", "node_id", "pattern_id", "tool_use_id", "trace_id", "session_id", "user_id", "tool_name",
    "file_path", "executed_at", "duration_ms", "success", "blocked", "quality_score",
]  # fmt: skip


async def load(dsn: str, rows: int, hot: int) -> None:
    rng = np.random.default_rng(42)
    end = datetime.now(UTC)
    start = end - timedelta(days=DAYS)
    conn = await asyncpg.connect(database.asyncpg_dsn(dsn))
    try:
        v1, v2 = uuid.uuid4(), uuid.uuid4()
        others = [uuid.uuid4() for _ in range(OTHER_PATTERNS)]
        await conn.copy_records_to_table(
            "pattern_lineage_nodes",
            records=[
                (v1, HOT, HOT, "function", "1.0.0", start - timedelta(days=1)),
                (v2, HOT, HOT, "function", "1.1.0", start),
                *((n, f"p{i}", f"p{i}", "function", "1.0.0", start) for i, n in enumerate(others)),
            ],
            columns=["id", "pattern_id", "pattern_name", "pattern_type", "pattern_version", "created_at"],
        )
        # time order: every row's offset in the window, sorted; which rows are hot is random
        offsets = np.sort(rng.uniform(0, DAYS * 86400, rows))
        is_hot = np.zeros(rows, dtype=bool)
        is_hot[rng.choice(rows, hot, replace=False)] = True
        hot_rank = np.cumsum(is_hot) - 1
        other_of = rng.integers(0, OTHER_PATTERNS, rows)
        durations = rng.lognormal(np.log(300), 0.4, rows)
        success = rng.random(rows) < 0.92
        blocked = rng.random(rows) < 0.02
        quality = rng.uniform(0.5, 1.0, rows)
        done = 0
        for lo in range(0, rows, CHUNK):
            records: list[tuple[Any, ...]] = []
            for i in range(lo, min(lo + CHUNK, rows)):
                t = start + timedelta(seconds=float(offsets[i]))
                if is_hot[i]:
                    newer = hot_rank[i] % 5 < 2  # 40 % of the hot executions use version 1.1.0
                    node, pattern, dur = (v2, HOT, durations[i] * 0.9) if newer else (v1, HOT, durations[i])
                    session = f"hot-{hot_rank[i] // 20}"
                else:
                    node, pattern, dur = others[other_of[i]], f"p{other_of[i]}", durations[i]
                    session = f"s-{i // 20}"
                records.append(
                    (uuid.uuid4(), node, pattern, f"toolu_{i}", None, session, f"user{i % 50}", "Write",
                     f"/repo/m{i % 97}.py", t, float(dur), bool(success[i]), bool(blocked[i]), float(quality[i]))
                )  # fmt: skip
            await conn.copy_records_to_table("pattern_executions", records=records, columns=COLUMNS)
            done += len(records)
            progress("COPY pattern_executions (+ rollups)", done, rows)
        for i, table in enumerate(
            ("pattern_executions", "pattern_execution_rollups", "pattern_execution_keys")
        ):
            progress("VACUUM ANALYZE (as autovacuum would)", i, 3)
            await conn.execute(f"VACUUM ANALYZE {table}")
        progress("VACUUM ANALYZE (as autovacuum would)", 3, 3)
    finally:
        await conn.close()


async def measure(
    base: str, samples: int, hot: int
) -> list[tuple[str, list[float], list[float], str, float | None]]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        health = await timed("baseline GET health (HTTP)", samples, lambda i: client.get("/health"))

        def analytics(window: str, **extra: Any) -> Callable[[int], Awaitable[None]]:
            async def op(i: int) -> None:
                r = await client.post(
                    "/analytics/compute", json={"pattern_id": HOT, "time_window_type": window, **extra}
                )
                assert r.status_code == 200, r.text

            return op

        quarterly = await timed("POST analytics/compute quarterly", samples, analytics("quarterly"))
        body = (
            await client.post("/analytics/compute", json={"pattern_id": HOT, "time_window_type": "quarterly"})
        ).json()
        weekly = await timed("POST analytics/compute weekly", samples, analytics("weekly"))

        async def feedback(i: int) -> None:
            r = await client.post(
                "/feedback/analyze",
                json={
                    "pattern_id": HOT,
                    "feedback_type": "all",
                    "time_window_days": DAYS,
                    "auto_apply": False,
                },
            )
            assert r.status_code == 200 and r.json()["data"]["validation_results"], r.text

        analyzed = await timed("POST feedback/analyze 90 days", samples, feedback)
        fb = (
            await client.post(
                "/feedback/analyze",
                json={
                    "pattern_id": HOT,
                    "feedback_type": "all",
                    "time_window_days": DAYS,
                    "auto_apply": False,
                },
            )
        ).json()["data"]
        raw_samples = max(5, samples // 60)
        raw = await timed(
            "POST analytics/compute quarterly, raw", raw_samples, analytics("quarterly", use_rollups=False)
        )
    print(
        f"\n  quarterly window: {body['usage_metrics']['total_executions']:,} executions, "
        f"p99 {body['performance_metrics']['p99_execution_time_ms']:.1f} ms, "
        f"trend {body['trend_analysis']['trend_type']}; feedback: "
        + ", ".join(
            f"{v['metric']} {v['test']} p={v['p_value']:.3g} {v['status']}" for v in fb["validation_results"]
        )
    )
    return [
        (f"POST analytics/compute, quarterly ({hot:,} exec.)", quarterly, health, "GET health", 50.0),
        ("POST analytics/compute, weekly", weekly, health, "GET health", 50.0),
        ("POST feedback/analyze, 90 days, all metrics", analyzed, health, "GET health", 200.0),
        ("  (for scale) analytics/compute from raw rows", raw, health, "GET health", None),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--hot", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    if not 0 < args.hot <= args.rows:
        parser.error("--hot must be between 1 and --rows")

    with bench_database("analytics") as (dsn, where):
        return run(args, dsn, where)


def run(args: argparse.Namespace, dsn: str, where: str) -> int:
    print(
        f"bench/analytics: {args.rows:,} executions ({args.hot:,} of one pattern) over {DAYS} days, "
        f"{args.samples} samples per measurement, on {where}",
        flush=True,
    )
    api: subprocess.Popen[bytes] | None = None
    try:
        database.upgrade(dsn)
        t = time.perf_counter()
        asyncio.run(load(dsn, args.rows, args.hot))
        print(f"  loaded in {time.perf_counter() - t:.1f} s", flush=True)
        api, base = start_api(dsn)
        report(asyncio.run(measure(base, args.samples, args.hot)))
        return 0
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
