"""bench/sessions: GET traces/{id} and GET sessions/{id} for a 500-span merged turn among 100k turns, vs GET health.

    .venv/bin/python -m bench.sessions [--turns 100000] [--samples 500]

The merged turn has 250 hook spans, 200 Claude Code spans and 50 Claude Code events, asked for in the
default shape (the 500-item timeline, no hook rows: those are ``?detail=full``); its session has
10 turns. Target: p99 <= 20 ms for both, measured against ``GET health`` in the same run. A
sample is the request until its whole body has arrived; the client then parses and checks the body
outside the clock (parsing ~170 KB of JSON is the client's cost, not the service's).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid

import asyncpg
import httpx

from bench.common import bench_database
from bench.lineage.__main__ import percentile, start_api, timed
from traceability.exporter.storage import database

SESSION = uuid.UUID("5e55e55e-0000-4000-8000-000000000001")
TURN = uuid.UUID("7a7a7a7a-0000-4000-8000-000000000001")
NATIVE = uuid.UUID("9c9c9c9c-0000-4000-8000-000000000001")

LOAD = """
INSERT INTO execution_traces (id, correlation_id, root_id, session_id, source, prompt_id, started_at,
                              completed_at, duration_ms, status, success, span_name, root_received)
SELECT u, u, u, md5('s' || (g % ($1 / 10)))::uuid, 'claude-code', u::text,
       '2026-11-01'::timestamptz + g * interval '1 second', '2026-11-01'::timestamptz + g * interval '1 second',
       1000, 'completed', TRUE, 'claude_code.turn', TRUE
FROM (SELECT g, md5('t' || g)::uuid AS u FROM generate_series(1, $1) AS g) AS x
"""
MERGED = [
    """INSERT INTO execution_traces (id, correlation_id, root_id, session_id, source, prompt_id, started_at,
           completed_at, duration_ms, status, success, span_name, root_received, native_trace_id)
       SELECT $1::uuid, $1::uuid, $1::uuid, $2::uuid, 'claude-code', $1::uuid::text, '2026-12-01', '2026-12-01 00:01', 60000, 'completed',
              TRUE, 'claude_code.turn', TRUE, $3
       UNION ALL
       SELECT u, u, u, $2, 'claude-code', u::text, '2026-11-30'::timestamptz + g * interval '1 minute',
              '2026-11-30'::timestamptz + g * interval '1 minute', 1000, 'completed', TRUE, 'claude_code.turn', TRUE,
              NULL::uuid
       FROM (SELECT g, md5('m' || g)::uuid AS u FROM generate_series(1, 9) AS g) AS x""",
    """INSERT INTO hook_executions (id, trace_id, hook_type, hook_name, execution_order, tool_name, started_at,
           completed_at, duration_ms, status, span_id, span_name, span_type, session_id, prompt_id, tool_use_id,
           success)
       SELECT md5('h' || g)::uuid, $1, CASE WHEN g % 2 = 0 THEN 'tool' ELSE 'PreToolUse' END, 'h', g, 'Bash',
              '2026-12-01'::timestamptz + g * interval '100 ms', '2026-12-01'::timestamptz + g * interval '150 ms',
              50, 'completed', lpad(to_hex(g), 16, '0'), 'execute_tool Bash',
              CASE WHEN g % 2 = 0 THEN 'tool' ELSE 'hook' END, $2::uuid::text, $1::uuid::text, 'toolu_' || (g / 2), TRUE
       FROM generate_series(1, 250) AS g""",
    """INSERT INTO claude_code_spans (id, trace_id, span_id, parent_span_id, name, span_type, started_at,
           completed_at, duration_ms, status_code, session_id, tool_use_id, tool_name)
       SELECT md5('n' || g)::uuid, $3, lpad(to_hex(1000 + g), 16, '0'),
              CASE WHEN g > 1 THEN lpad(to_hex(1001), 16, '0') END,
              CASE WHEN g = 1 THEN 'claude_code.interaction' ELSE 'claude_code.tool' END,
              CASE WHEN g = 1 THEN 'interaction' WHEN g % 3 = 0 THEN 'tool.execution' ELSE 'tool' END,
              '2026-12-01'::timestamptz + g * interval '120 ms', '2026-12-01'::timestamptz + g * interval '160 ms',
              40, 'UNSET', $2::uuid::text, 'toolu_' || g, 'Bash'
       FROM generate_series(1, 200) AS g WHERE $1::uuid IS NOT NULL""",
    """INSERT INTO claude_code_events (id, event_name, event_time, session_id, prompt_id, native_trace_id,
           model, input_tokens, output_tokens, cost_usd, duration_ms)
       SELECT md5('e' || g)::uuid, 'api_request', '2026-12-01'::timestamptz + g * interval '1 s', $2::uuid::text,
              $1::uuid::text, $3, 'claude-opus-5-5', 100, 20, 0.0008, 35
       FROM generate_series(1, 50) AS g""",
    "INSERT INTO claude_code_trace_links (native_trace_id, prompt_id, session_id) VALUES ($3, $1::uuid::text, $2::uuid::text)",
]

# (label, our samples in ms, the baseline's samples in ms, the baseline's label, the p99 target in ms)
Measurement = tuple[str, list[float], list[float], str, float]


async def load(dsn: str, turns: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(LOAD, turns)
        for sql in MERGED:
            # asyncpg binds $1..$n: pass the ids up to the highest one the statement uses, as typed uuids
            count = max(n for n in (1, 2, 3) if f"${n}" in sql)
            await conn.execute(sql, *(TURN, SESSION, NATIVE)[:count])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def measure(base: str, samples: int) -> list[Measurement]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        health = await timed("baseline GET health", samples, lambda i: client.get("/health"), warmup=50)

        last: list[httpx.Response] = []

        async def trace(i: int) -> None:
            last[:] = [await client.get(f"/traces/{TURN}")]

        async def trace_checked(i: int) -> None:
            r = last[0]
            assert r.status_code == 200 and len(r.json()["data"]["timeline"]) == 500, r.text[:300]

        async def session(i: int) -> None:
            last[:] = [await client.get(f"/sessions/{SESSION}")]

        async def session_checked(i: int) -> None:
            r = last[0]
            assert r.status_code == 200 and len(r.json()["data"]["turns"]) == 10, r.text[:300]

        traces = await timed(
            "GET traces/{id} (500-span merged turn)", samples, trace, warmup=50, untimed=trace_checked
        )
        sessions = await timed(
            "GET sessions/{id} (10 turns)", samples, session, warmup=50, untimed=session_checked
        )
    return [
        ("GET traces/{id}, 500-span merged turn", traces, health, "GET health", 20.0),
        ("GET sessions/{id}, 10 turns", sessions, health, "GET health", 20.0),
    ]


def report(rows: list[Measurement]) -> None:
    """Each measurement's p99 beside the baseline's p99 in this run, as a ratio, and the target."""
    print()
    print(f"{'measurement':<40} {'median':>7} {'p99 ms':>7}  {'health p99':>10}  {'p99 ratio':>9}  target")
    for label, ours, base, _, target in rows:
        p99, base_p99 = percentile(ours, 99), percentile(base, 99)
        verdict = "ok" if p99 <= target else "MISSED"
        print(
            f"{label:<40} {statistics.median(ours):7.2f} {p99:7.2f}  {base_p99:10.2f}  {p99 / base_p99:8.1f}x"
            f"  p99 <= {target:g} ms: {verdict}"
        )
    print("(GET health measured over the same connection in this run; ratio = p99 / health p99)")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    with bench_database("sessions") as (dsn, where):
        print(
            f"bench/sessions: {args.turns:,} turns, {args.samples} samples per measurement, on {where}",
            flush=True,
        )
        database.upgrade(dsn)
        t = time.perf_counter()
        asyncio.run(load(dsn, args.turns))
        print(f"  loaded in {time.perf_counter() - t:.1f} s", flush=True)
        api, base = start_api(dsn)
        try:
            report(asyncio.run(measure(base, args.samples)))
        finally:
            api.terminate()
            api.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
