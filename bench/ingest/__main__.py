"""bench/ingest: spans/s (or log events/s) from OTLP protobuf over HTTP to committed rows, against raw COPY.

    .venv/bin/python -m bench.ingest [--signal traces|logs] [--spans 40000] [--batch 1000] [--rounds 5]
                                     [--concurrency 8] [--workers N] [--keep-alive]

``--signal logs`` sends Claude Code log events to ``/v1/logs`` (``claude_code_events`` rows, with
the native trace -> prompt links and the turn join); the baseline COPYs the same event rows.

Both sides run in the same process tree on the same fresh PostgreSQL cluster (default durability:
fsync and synchronous_commit on), rounds interleaved, medians reported:

- baseline: asyncpg ``copy_records_to_table`` of the very same hook_executions rows (already
  mapped, their traces already present), one transaction per batch;
- ours: the real collector (``traceability collector --workers N`` subprocess, one worker per core
  by default) fed OTLP/HTTP protobuf requests by ``concurrency`` clients; timed from the first
  request to the last 200, and a 200 means committed. The clients (``client.PostClient``) write
  HTTP/1.1 straight to sockets: they share the machine, and httpx's CPU per request came out of
  the collector's. Each request opens its own connection (a
  loopback connect is ~0.1 ms beside a 1,000-span batch), so the kernel spreads them over the worker
  processes as it would many exporters' connections. With ``--keep-alive`` the clients hold 8
  connections for the whole run: uvicorn's workers share one listening socket, and whichever
  accepts first keeps a connection, so one worker may get most of them and a round measures one
  worker (rounds then differ up to 1.5x).

Target: ours >= 0.5x the raw COPY rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench.common import progress
from bench.ingest.client import PostClient
from bench.ingest.logs import raw_copy_logs
from tests.support.log_requests import make_log_requests
from traceability.exporter.codec.traces import attribute_kv, decode_request
from traceability.exporter.devtools.embedded_pg import EmbeddedPostgres, free_port
from traceability.exporter.storage import database
from traceability.exporter.storage.mapping import HOOK_COLUMNS, TRACE_COLUMNS, map_spans
from traceability.instrumentation import semconv as sc

T0 = 1_767_225_600_000_000_000


def make_requests(total: int, batch: int, seed: int) -> list[bytes]:
    """OTLP requests of ``batch`` hook spans each (20 per trace, plus the trace's root)."""
    payload = json.dumps({"command": "pytest -q tests/", "description": "x" * 300})  # ~0.5 KB of jsonb/row
    quality = json.dumps({"violations_found": 2, "corrections_applied": 1, "quality_score": 0.85})
    requests: list[bytes] = []
    span_no = 0
    for start in range(0, total, batch):
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        rs.resource.attributes.append(attribute_kv(sc.SERVICE_NAME, "claude-code-hooks"))
        ss = rs.scope_spans.add()
        ss.scope.name = sc.INSTRUMENTATION_SCOPE
        for i in range(start, min(start + batch, total)):
            trace_no = i // 20
            trace_id = (seed << 64 | trace_no + 1).to_bytes(16, "big")
            if i % 20 == 0:
                root = ss.spans.add()
                root.trace_id, root.span_id = trace_id, (1).to_bytes(8, "big")
                root.name, root.kind = sc.SPAN_NAME_TURN, 1
                root.start_time_unix_nano, root.end_time_unix_nano = T0, T0 + 10**9
                root.attributes.extend(
                    [
                        attribute_kv(sc.SPAN_TYPE, sc.SPAN_TYPE_TURN),
                        attribute_kv(sc.SESSION_ID, "8bbcceab-0b3e-4e24-98c9-ec146b1ca8c6"),
                    ]
                )
            span_no += 1
            span = ss.spans.add()
            span.trace_id, span.span_id, span.parent_span_id = (
                trace_id,
                (span_no + 1).to_bytes(8, "big"),
                (1).to_bytes(8, "big"),
            )
            span.name, span.kind = "hook PreToolUse", 1
            span.start_time_unix_nano, span.end_time_unix_nano = T0 + i * 1000, T0 + i * 1000 + 5 * 10**6
            span.attributes.extend(
                [
                    attribute_kv(sc.SPAN_TYPE, sc.SPAN_TYPE_HOOK),
                    attribute_kv(sc.HOOK_TYPE, "PreToolUse"),
                    attribute_kv(sc.HOOK_NAME, "quality-enforcer"),
                    attribute_kv(sc.EXECUTION_ORDER, i % 20 + 1),
                    attribute_kv(sc.GEN_AI_TOOL_NAME, "Bash"),
                    attribute_kv(sc.GEN_AI_TOOL_CALL_ID, f"toolu_{i:08d}"),
                    attribute_kv(sc.SESSION_ID, "8bbcceab-0b3e-4e24-98c9-ec146b1ca8c6"),
                    attribute_kv(sc.INPUT_DATA, payload),
                    attribute_kv(sc.QUALITY_RESULTS, quality),
                    attribute_kv(sc.QUALITY_SCORE, 0.85),
                ]
            )
        requests.append(request.SerializeToString())
    return requests


async def reset(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "TRUNCATE hook_executions, execution_traces, claude_code_events, claude_code_trace_links"
        )
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def raw_copy(dsn: str, requests: list[bytes]) -> tuple[float, int]:
    """Baseline: COPY the already-mapped hook rows (traces inserted first, untimed)."""
    batches = [map_spans(decode_request(ExportTraceServiceRequest.FromString(r)).spans) for r in requests]
    c = await asyncpg.connect(dsn)  # asyncpg's own jsonb codec: JSON text in, as COPY sends it
    try:
        traces = [row.values for b in batches for row in b.roots]
        await c.copy_records_to_table("execution_traces", records=traces, columns=TRACE_COLUMNS)
        rows = [[r.values for r in b.hooks] for b in batches]
        started = time.perf_counter()
        for i, chunk in enumerate(rows):
            async with c.transaction():
                await c.copy_records_to_table("hook_executions", records=chunk, columns=HOOK_COLUMNS)
            progress("raw COPY", i + 1, len(rows))
        elapsed = time.perf_counter() - started
    finally:
        await c.close()
    return elapsed, sum(len(r) for r in rows)


async def through_collector(url: str, requests: list[bytes], concurrency: int, keep_alive: bool) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in requests:
        queue.put_nowait(body)
    done = 0

    async def client() -> None:
        nonlocal done
        http = PostClient(url, "application/x-protobuf", keep_alive)
        try:
            while not queue.empty():
                status, answer = await http.post(queue.get_nowait())
                if status != 200:
                    raise RuntimeError(f"collector answered {status}: {answer[:200]!r}")
                done += 1
                progress("OTLP -> collector -> rows", done, len(requests))
        finally:
            await http.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - started


async def count_rows(dsn: str, table: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--signal", choices=("traces", "logs"), default="traces")
    parser.add_argument("--spans", type=int, default=40_000, help="spans (or log events) per round")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--keep-alive", action="store_true", help="hold one connection per client for the whole run"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="collector processes (default: one per core)"
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    root.chmod(0o755)
    pg = EmbeddedPostgres(cluster_dir=root / "pg")  # default durability
    print(
        f"bench/ingest: {args.spans} {'log events' if args.signal == 'logs' else 'hook spans'} in batches of {args.batch}, {args.rounds} rounds, "
        f"collector with {args.workers} worker(s), {args.concurrency} concurrent clients"
        f" ({'kept-alive connections' if args.keep_alive else 'a connection per request'})",
        flush=True,
    )
    pg.start()
    collector: subprocess.Popen[bytes] | None = None
    try:
        database.upgrade(pg.dsn)
        port = free_port()
        env = {**os.environ, "LOG_LEVEL": "WARNING"}
        collector = subprocess.Popen(
            [sys.executable, "-m", "traceability.cli.main", "collector", "--port", str(port),
             "--spool-dir", str(root / "spool"), "--db-url", pg.dsn, "--workers", str(args.workers)],
            env=env, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

        base_rates: list[float] = []
        our_rates: list[float] = []
        for round_no in range(args.rounds):
            logs = args.signal == "logs"
            make = make_log_requests if logs else make_requests
            requests = make(args.spans, args.batch, seed=round_no + 1)
            asyncio.run(reset(pg.dsn))
            elapsed, rows = asyncio.run((raw_copy_logs if logs else raw_copy)(pg.dsn, requests))
            base_rates.append(rows / elapsed)
            asyncio.run(reset(pg.dsn))
            elapsed = asyncio.run(
                through_collector(f"{url}/v1/{args.signal}", requests, args.concurrency, args.keep_alive)
            )
            table = "claude_code_events" if logs else "hook_executions"
            stored = asyncio.run(count_rows(pg.dsn, table))
            if stored != args.spans:
                raise RuntimeError(f"collector stored {stored} {table} rows, expected {args.spans}")
            our_rates.append(args.spans / elapsed)
            print(
                f"  round {round_no + 1}: raw COPY {base_rates[-1]:,.0f} rows/s, "
                f"collector {our_rates[-1]:,.0f} {'events' if args.signal == 'logs' else 'spans'}/s",
                flush=True,
            )
        base, ours = statistics.median(base_rates), statistics.median(our_rates)
        print()
        print(f"raw COPY baseline (median)      : {base:10,.0f} rows/s")
        print(
            f"OTLP protobuf -> committed rows : {ours:10,.0f} {'events' if args.signal == 'logs' else 'spans'}/s"
        )
        print(f"ratio                           : {ours / base:10.2f}x   (target >= 0.50x)")
        return 0
    finally:
        if collector is not None:
            collector.terminate()
            collector.wait(timeout=15)
        pg.destroy()


if __name__ == "__main__":
    sys.exit(main())
