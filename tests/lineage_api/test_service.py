"""`traceability api` as a real server (uvicorn on a free port), examples 2 and 3 against it,
its in-process deriver, and `traceability derive`."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from tests.support.scripted_session import ScriptedSession
from traceability.lineage_api.app import API_PREFIX

REPO = Path(__file__).resolve().parents[2]
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def run_example(name: str, base_url: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / name)],
        env={**os.environ, "INTELLIGENCE_SERVICE_URL": base_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


async def test_examples_2_and_3_print_real_values(live_api: str, db_pool: asyncpg.Pool) -> None:
    out2 = await asyncio.to_thread(run_example, "example2_pattern_lineage_tracking.py", live_api)
    match = re.fullmatch(rf"Pattern tracked: True\nNode ID: ({UUID_RE})\n", out2)
    assert match, out2
    async with db_pool.acquire() as conn:
        node = await conn.fetchrow(
            "SELECT pattern_id, pattern_version, generation FROM pattern_lineage_nodes WHERE id = $1::uuid",
            match.group(1),
        )
        assert tuple(node) == ("async_db_writer_v3", "3.0.0", 2)
        created_at = await conn.fetchval(
            "SELECT created_at FROM pattern_lineage_nodes WHERE pattern_id = 'async_db_writer_v3'"
        )

    out3 = await asyncio.to_thread(run_example, "example3_query_pattern_evolution.py", live_api)
    assert out3 == (
        "Total versions: 1\n"
        "  Version 3.0.0: Async Database Writer\n"
        "    Generation: 2\n"
        f"    Created: {created_at.isoformat().replace('+00:00', 'Z')}\n"
        "  1.0.0 -> 3.0.0\n"
        "    Type: derived_from\n"
        "    Transformation: optimization\n"
    )
    # running Example 2 again finds the pattern already there and still prints its node
    again = await asyncio.to_thread(run_example, "example2_pattern_lineage_tracking.py", live_api)
    assert again == out2

    # the same lineage drawn in the terminal
    show = await asyncio.to_thread(lineage_cli, "show", "async_db_writer_v3", "--url", live_api)
    assert (show.returncode, show.stdout) == (
        0,
        "Async Database Writer (async_db_writer_v3@3.0.0)  (generation 2)\n"
        "└─ derived_from (optimization) <- Async Database Writer (async_db_writer_v2@1.0.0)\n",
    )
    down = await asyncio.to_thread(
        lineage_cli, "show", "async_db_writer_v2", "--descendants", "--url", live_api
    )
    assert (
        down.stdout == "Async Database Writer (async_db_writer_v2@1.0.0)  (generation 1)\n"
        "└─ derived_from (optimization) -> Async Database Writer (async_db_writer_v3@3.0.0)\n"
    )
    mermaid = await asyncio.to_thread(
        lineage_cli, "show", "async_db_writer_v3", "--format", "mermaid", "--url", live_api
    )
    assert mermaid.stdout.startswith("graph TD\n") and "-->|derived_from (optimization)|" in mermaid.stdout
    missing = await asyncio.to_thread(lineage_cli, "show", "no_such_pattern", "--url", live_api)
    assert (missing.returncode, missing.stderr) == (
        1,
        "traceability lineage: pattern 'no_such_pattern' not found\n",
    )


def lineage_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "traceability.cli.main", "lineage", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_api_server_derives_patterns_from_stored_spans(live_api: str, db_dsn: str) -> None:
    s = ScriptedSession()
    s.turn()
    s.tool("Write", "/repo/svc.py", "def handler(event):\n    return {'ok': True, 'event': event}\n")
    await s.flush(db_dsn)
    async with httpx.AsyncClient(base_url=live_api + API_PREFIX) as client:
        deadline = time.monotonic() + 20  # the in-process deriver polls every 0.2 s
        while True:
            patterns = (await client.get("/patterns", params={"file_path": "/repo/svc.py"})).json()["data"]
            if patterns["total"] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert [(p["qualified_name"], p["total_executions"]) for p in patterns["patterns"]] == [
            ("handler", 1)
        ]
        health = (await client.get("/health")).json()
        assert health["components"]["pattern_deriver"]["enabled"] is True
        deriver = health["components"]["pattern_deriver"]
        assert (deriver["executions_processed"], deriver["spans_skipped"], deriver["last_error"]) == (
            1,
            0,
            None,
        )
        assert deriver["running"] is True and deriver["last_run_at"] is not None


def derive_cli(db_dsn: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "traceability.cli.main", "derive", "--db-url", db_dsn, *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_derive_command_backfills_with_progress_and_is_idempotent(
    db_dsn: str, db_pool: asyncpg.Pool
) -> None:
    s = ScriptedSession()
    s.turn()
    for i in range(7):
        s.tool("Write", f"/repo/m{i}.py", f"def f{i}(x):\n    return x + {i}\n\n\nclass K{i}:\n    pass\n")
    await s.flush(db_dsn)
    first = await asyncio.to_thread(derive_cli, db_dsn, "--batch-size", "3")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "derived 7 tool uses: 14 pattern uses, 14 new versions\n"
    assert "deriving patterns [" in first.stderr and "7/7" in first.stderr
    second = await asyncio.to_thread(derive_cli, db_dsn, "--quiet")
    assert (second.returncode, second.stdout, second.stderr) == (
        0,
        "derived 0 tool uses: 0 pattern uses, 0 new versions\n",
        "",
    )
    async with db_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM pattern_lineage_nodes") == 14


def test_derive_command_errors() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEABILITY_DB_URL")}
    proc = subprocess.run(
        [sys.executable, "-m", "traceability.cli.main", "derive"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "no database: pass --db-url, set TRACEABILITY_DB_URL, or start everything with" in proc.stderr
    from traceability.exporter.devtools.embedded_pg import free_port

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "traceability.cli.main",
            "derive",
            "--db-url",
            f"postgresql://u:pw@127.0.0.1:{free_port()}/x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "cannot reach the database at postgresql://u:***@127.0.0.1:" in proc.stderr
