"""examples/example4_analytics.py against `traceability api` on a free port: it prints the real analytics."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import numpy as np

from tests.support.analytics_data import add_node, copy_executions, expected, generate, uniform_times

REPO = Path(__file__).resolve().parents[2]


def run_example(base_url: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "example4_analytics.py")],
        env={**os.environ, "INTELLIGENCE_SERVICE_URL": base_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


async def test_example_4_prints_real_values(live_api: str, db_pool: asyncpg.Pool) -> None:
    rng = np.random.default_rng(4)
    now = datetime.now(UTC)
    async with db_pool.acquire() as conn:
        node = await add_node(conn, "async_db_writer_v3", "3.0.0")
        # growing use over the last week (and none before): 10, 20, ... executions per day
        times = [
            now - timedelta(days=7 - d, seconds=-s)
            for d in range(7)
            for s in rng.uniform(60, 86000, 10 * (d + 1))
        ]
        rows = generate(rng, node, "async_db_writer_v3", times, null_p=0.0)
        rows += generate(
            rng,
            node,
            "async_db_writer_v3",
            uniform_times(rng, now - timedelta(days=30), now - timedelta(days=8), 20),
        )
        await copy_executions(conn, rows)
    out = await asyncio.to_thread(run_example, live_api)
    exp = expected(rows, now - timedelta(days=7), now + timedelta(days=1), 86400, 8)
    n = exp["n"]
    lines = out.splitlines()
    assert lines[0] == f"Total executions: {n}"
    assert lines[1] == f"Executions per day: {n / 7}"
    assert lines[2] == f"Unique contexts: {exp['sessions']}"
    assert lines[3] == f"Success rate: {exp['ok'] / n:.2%}"
    assert lines[4] == f"Average quality: {exp['scores'].mean():.2f}"
    assert lines[5] == "Trend: growing"
    assert (
        lines[6].startswith("Growth: ") and float(lines[6].removeprefix("Growth: ").removesuffix("%")) > 100
    )


async def test_seed_example_4_runs_on_a_pattern_without_executions(live_api: str) -> None:
    """Example 2 tracks async_db_writer_v3 (no executions yet); Example 4 on it prints zeros, not a TypeError."""
    track = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(REPO / "examples" / "example2_pattern_lineage_tracking.py")],
        env={**os.environ, "INTELLIGENCE_SERVICE_URL": live_api},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert track.returncode == 0 and "Pattern tracked: True" in track.stdout, track.stderr
    out = await asyncio.to_thread(run_example, live_api)
    assert out.splitlines() == [
        "Total executions: 0",
        "Executions per day: 0.0",
        "Unique contexts: 0",
        "Success rate: 0.00%",
        "Average quality: 0.00",
        "Trend: insufficient_data",
        "Growth: 0.0%",
    ]
