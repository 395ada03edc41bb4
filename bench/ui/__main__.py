"""bench/ui: the web UI's server time with 100k turns and 2M spans stored, and Chromium's render time.

    .venv/bin/python -m bench.ui [--turns 100000] [--spans-per-turn 20] [--samples 300]

Uses ``TRACEABILITY_DB_URL`` as an admin connection for a scratch database, else a private embedded
PostgreSQL cluster. Loads sessions of 10 turns (each turn its hook and tool spans, a tenth of the
tools failed) with COPY, plus one 500-span turn, one 2,000-span turn and a pattern with versions and
executions; then runs ``traceability api`` and measures over HTTP keep-alive, each next to
``GET health`` in the same run (the baseline):

- server time of the sessions list, a session, the 500-span turn and the pattern page (target p99
  <= 50 ms);
- Chromium (Debian's, driven by Playwright) loading the 2,000-span turn until its waterfall is
  drawn, next to the UI's own near-empty 404 page.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from bench.common import bench_database, progress
from traceability.exporter.devtools.embedded_pg import free_port
from traceability.exporter.storage import database
from traceability.lineage_api.app import API_PREFIX

T0 = datetime(2026, 6, 1, tzinfo=UTC)
TURNS_PER_SESSION = 10
TOOLS = ("Read", "Edit", "Bash", "Grep", "Write")
CHUNK_TURNS = 5_000


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _turn_rows(
    trace_id: uuid.UUID, session: uuid.UUID, start: datetime, n_spans: int, project: str
) -> tuple[tuple[object, ...], list[tuple[object, ...]]]:
    """One turn: the root row and ``n_spans`` spans (a hook before and after each tool span)."""
    duration = 1000 * n_spans
    turn = (
        trace_id, trace_id, trace_id, session, "claude-code", start, start + timedelta(milliseconds=duration),
        duration, "completed", True, json.dumps({"cwd": f"/home/dev/{project}", "model": "claude-sonnet-4-5"}),
        "claude_code.turn", True, str(trace_id),
    )  # fmt: skip
    spans: list[tuple[object, ...]] = []
    root_span = trace_id.hex[:16]
    for i in range(n_spans):
        tool_index = i // 3
        tool = TOOLS[tool_index % len(TOOLS)]
        at = start + timedelta(milliseconds=1000 * i)
        failed = tool == "Bash" and tool_index % 10 == 3
        tool_span = f"{trace_id.hex[16:22]}ff{tool_index:08x}"
        if i % 3 == 0:
            span_id, parent, kind, name, hook_type = (
                tool_span,
                root_span,
                "tool",
                f"execute_tool {tool}",
                "tool",
            )
        else:
            span_id, parent, kind, name = (
                f"{trace_id.hex[16:22]}00{i:08x}",
                tool_span,
                "hook",
                "hook PreToolUse",
            )
            hook_type = "PreToolUse" if i % 3 == 1 else "PostToolUse"
        status = "failed" if failed and kind == "tool" else "completed"
        spans.append(
            (
                uuid.uuid4(), trace_id, hook_type, name, i, tool, f"/home/dev/{project}/m{tool_index % 7}.py",
                at, at + timedelta(milliseconds=40), 40, status, span_id, parent, name, kind, str(session),
                str(trace_id), f"toolu_{trace_id.hex[:10]}{tool_index}", json.dumps({"command": f"step {i}"}),
                status == "completed",
            )
        )  # fmt: skip
    return turn, spans


TRACE_COLUMNS = ["id", "correlation_id", "root_id", "session_id", "source", "started_at", "completed_at",
                 "duration_ms", "status", "success", "context", "span_name", "root_received", "prompt_id"]  # fmt: skip
SPAN_COLUMNS = ["id", "trace_id", "hook_type", "hook_name", "execution_order", "tool_name", "file_path",
                "started_at", "completed_at", "duration_ms", "status", "span_id", "parent_span_id", "span_name",
                "span_type", "session_id", "prompt_id", "tool_use_id", "input_data", "success"]  # fmt: skip


async def load(dsn: str, n_turns: int, spans_per_turn: int) -> dict[str, str]:
    conn = await asyncpg.connect(database.asyncpg_dsn(dsn))
    await conn.set_type_codec(  # jsonb over binary COPY: a version byte, then the JSON text
        "jsonb",
        encoder=lambda v: b"\x01" + v.encode(),
        decoder=lambda v: v[1:].decode(),
        schema="pg_catalog",
        format="binary",
    )
    ids: dict[str, str] = {}
    try:
        done = 0
        while done < n_turns:
            traces, spans = [], []
            for t in range(done, min(done + CHUNK_TURNS, n_turns)):
                session = uuid.UUID(int=(t // TURNS_PER_SESSION) + 1)
                start = T0 + timedelta(minutes=t)
                trace_id = uuid.UUID(int=(1 << 64) + t)
                turn, rows = _turn_rows(trace_id, session, start, spans_per_turn, f"project-{t % 37}")
                traces.append(turn)
                spans.extend(rows)
            await conn.copy_records_to_table("execution_traces", records=traces, columns=TRACE_COLUMNS)
            await conn.copy_records_to_table("hook_executions", records=spans, columns=SPAN_COLUMNS)
            done += len(traces)
            progress("COPY turns and spans", done, n_turns)
        for label, size in (("turn500", 500), ("turn2000", 2000)):
            trace_id = uuid.uuid4()
            session = uuid.uuid4()
            turn, rows = _turn_rows(trace_id, session, T0 + timedelta(days=400), size, "big")
            await conn.copy_records_to_table("execution_traces", records=[turn], columns=TRACE_COLUMNS)
            await conn.copy_records_to_table("hook_executions", records=rows, columns=SPAN_COLUMNS)
            ids[label] = trace_id.hex
        ids["session"] = str(uuid.UUID(int=1))
        ids["pattern"] = await _pattern(conn)
        for table in ("execution_traces", "hook_executions", "pattern_lineage_nodes", "pattern_executions"):
            await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()
    return ids


async def _pattern(conn: asyncpg.Connection) -> str:
    """A pattern of 5 versions (a chain of modified_from edges) with 2,000 executions over 30 days."""
    nodes = [uuid.uuid4() for _ in range(5)]
    await conn.copy_records_to_table(
        "pattern_lineage_nodes",
        records=[
            (
                n,
                "bench-pattern",
                "apply_discount",
                "function",
                f"{i + 1}.0.0",
                i + 1,
                "python",
                T0 + timedelta(days=i),
            )
            for i, n in enumerate(nodes)
        ],
        columns=[
            "id",
            "pattern_id",
            "pattern_name",
            "pattern_type",
            "pattern_version",
            "generation",
            "language",
            "created_at",
        ],
    )
    await conn.copy_records_to_table(
        "pattern_lineage_edges",
        records=[(uuid.uuid4(), a, b, "modified_from") for a, b in itertools.pairwise(nodes)],
        columns=["id", "source_node_id", "target_node_id", "edge_type"],
    )
    await conn.copy_records_to_table(
        "pattern_executions",
        records=[
            (
                uuid.uuid4(),
                nodes[3 + i % 2],
                "bench-pattern",
                f"toolu_p{i}",
                T0 + timedelta(minutes=20 * i),
                10.0 + i % 50,
                i % 9 != 0,
                False,
                0.9,
            )
            for i in range(2000)
        ],
        columns=[
            "id",
            "node_id",
            "pattern_id",
            "tool_use_id",
            "executed_at",
            "duration_ms",
            "success",
            "blocked",
            "quality_score",
        ],
    )
    return "bench-pattern"


def _measure(client: httpx.Client, url: str, samples: int) -> list[float]:
    for _ in range(max(5, samples // 10)):  # warm-up
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, url
    return times


async def _render(base: str, ids: dict[str, str], rounds: int) -> tuple[list[float], list[float]]:
    from tests.support.browser import browser_page

    turn, empty = [], []
    async with browser_page() as (page, watch):
        for _ in range(rounds):
            t = time.perf_counter()
            await page.goto(f"{base}/no-such-page")
            await page.wait_for_selector(".error-message")
            empty.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await page.goto(f"{base}/turns/{ids['turn2000']}")
            await page.wait_for_function("document.querySelectorAll('.wf-row').length === 2000")
            await page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            turn.append((time.perf_counter() - t) * 1000)
        assert watch.external_requests == []
    return turn, empty


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui", description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--spans-per-turn", type=int, default=20)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--render-rounds", type=int, default=5)
    args = parser.parse_args()
    with bench_database("ui") as (dsn, where):
        print(
            f"bench/ui on {where}: {args.turns:,} turns, {args.turns * args.spans_per_turn:,} spans",
            file=sys.stderr,
        )
        database.upgrade(dsn)
        ids = asyncio.run(load(dsn, args.turns, args.spans_per_turn))
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "traceability.cli.main", "api", "--port", str(port), "--db-url", dsn],
            env={**__import__("os").environ, "TRACEABILITY_DERIVER": "0"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(timeout=30) as client:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if client.get(base + API_PREFIX + "/health").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.2)
                    if time.monotonic() > deadline:
                        raise SystemExit("the API did not start")
                targets = {
                    "GET health (baseline)": base + API_PREFIX + "/health",
                    "sessions list": base + "/",
                    "a session (10 turns)": f"{base}/sessions/{ids['session']}",
                    "a 500-span turn": f"{base}/turns/{ids['turn500']}",
                    "a pattern page": f"{base}/patterns/{ids['pattern']}?as_of=2026-07-01T00:00:00%2B00:00",
                }
                results = {}
                for index, (label, url) in enumerate(targets.items()):
                    results[label] = _measure(client, url, args.samples)
                    progress("HTTP samples", index + 1, len(targets))
            turn, empty = asyncio.run(_render(base, ids, args.render_rounds))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    health = percentile(results["GET health (baseline)"], 99)
    print(f"\nserver time over HTTP keep-alive, {args.samples} samples each (target p99 <= 50 ms)")
    print(f"  {'page':<24} {'median':>9} {'p99':>9} {'p99 / health p99':>17}")
    for label, times in results.items():
        p99 = percentile(times, 99)
        print(f"  {label:<24} {statistics.median(times):>7.2f}ms {p99:>7.2f}ms {p99 / health:>16.1f}x")
    print(f"\nChromium, load until drawn, median of {args.render_rounds}")
    print(f"  2,000-span turn          {statistics.median(turn):>7.0f} ms")
    print(
        f"  near-empty page (404)    {statistics.median(empty):>7.0f} ms   ratio {statistics.median(turn) / statistics.median(empty):.1f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
