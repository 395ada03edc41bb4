"""bench/lineage: lineage graph queries over 1,000,000 nodes, and lineage/track through HTTP.

    .venv/bin/python -m bench.lineage [--nodes 1000000] [--samples 2000]

Uses ``TRACEABILITY_DB_URL`` as an admin connection to create (and drop) a scratch database, else
a private embedded PostgreSQL cluster (default durability). The graph is loaded with COPY: lineages
of 20 versions each, a chain of 12 (``modified_from``) with 8 branches (``derived_from``) forking
off its first 8 versions, so every lineage has a node with 11 ancestors and a root with 18
descendants. Reported, with medians and p99, each next to a baseline measured in the same run:

- ancestry, depth 10 (uncached recursive CTE, and served by pattern_ancestry_cache) and
  descendants, depth 10, as the store runs them on one connection   vs  ``SELECT 1`` round trip;
- a dense cyclic graph beside it (``--dense-nodes`` nodes, every one ``replaced_by`` every other,
  as deprecations over the API make it): ancestry and descendants, depth 10, and the ancestry
  cache invalidation a new edge triggers   vs  ``SELECT 1``; each walk must expand every node
  once (linear in the edges), where carrying paths was factorial;
- POST lineage/track (pattern_created, and pattern_modified of an existing pattern) against
  ``traceability api`` over HTTP keep-alive   vs  GET health over the same connection.

Targets: ancestry p99 <= 5 ms, descendants p99 <= 20 ms, lineage/track p99 <= 10 ms; dense graph
walks and invalidation p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from bench.common import bench_database, progress
from traceability.exporter.devtools.embedded_pg import free_port
from traceability.exporter.storage import database
from traceability.lineage_api.app import API_PREFIX
from traceability.lineage_api.store import graph

LINEAGE_SIZE = 20
CHAIN = 12  # versions 0..11 form a chain; 12..19 branch off versions 0..7
COPY_CHUNK = 50_000

# (label, our samples in ms, the baseline's samples in ms, the baseline's label, the p99 target in ms)
Measurement = tuple[str, list[float], list[float], str, float | None]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def parent_index(k: int) -> int | None:
    if k == 0:
        return None
    return k - 1 if k < CHAIN else k - CHAIN


async def load_graph(dsn: str, n_nodes: int) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """COPY the nodes and edges; returns (deep nodes with 11 ancestors, lineage roots)."""
    lineages = n_nodes // LINEAGE_SIZE
    conn = await asyncpg.connect(database.asyncpg_dsn(dsn))
    deep: list[uuid.UUID] = []
    roots: list[uuid.UUID] = []
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        done = 0
        for start in range(0, lineages, COPY_CHUNK // LINEAGE_SIZE):
            nodes: list[tuple[object, ...]] = []
            edges: list[tuple[object, ...]] = []
            for lin in range(start, min(start + COPY_CHUNK // LINEAGE_SIZE, lineages)):
                ids = [uuid.uuid4() for _ in range(LINEAGE_SIZE)]
                lineage_id = uuid.uuid4()
                depth = [0] * LINEAGE_SIZE
                for k, node_id in enumerate(ids):
                    parent = parent_index(k)
                    depth[k] = 1 if parent is None else depth[parent] + 1
                    pattern_id = f"bench-{lin}" if k < CHAIN else f"bench-{lin}-b{k}"
                    created = t0 + timedelta(seconds=lin * LINEAGE_SIZE + k)
                    nodes.append(
                        (
                            node_id,
                            pattern_id,
                            pattern_id,
                            "code",
                            f"{k + 1}.0.0",
                            depth[k],
                            lineage_id,
                            created,
                        )
                    )
                    if parent is not None:
                        edge_type = "modified_from" if k < CHAIN else "derived_from"
                        edges.append((uuid.uuid4(), ids[parent], node_id, edge_type, "refactor", created))
                deep.append(ids[CHAIN - 1])
                roots.append(ids[0])
            await conn.copy_records_to_table(
                "pattern_lineage_nodes",
                records=nodes,
                columns=["id", "pattern_id", "pattern_name", "pattern_type", "pattern_version", "generation",
                         "lineage_id", "created_at"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "pattern_lineage_edges",
                records=edges,
                columns=[
                    "id",
                    "source_node_id",
                    "target_node_id",
                    "edge_type",
                    "transformation_type",
                    "created_at",
                ],
            )
            done += len(nodes)
            progress("COPY pattern_lineage_nodes/edges", done, lineages * LINEAGE_SIZE)
        await conn.execute("VACUUM ANALYZE pattern_lineage_nodes")
        await conn.execute("VACUUM ANALYZE pattern_lineage_edges")
    finally:
        await conn.close()
    return deep, roots


async def timed(
    label: str,
    samples: int,
    op: Callable[[int], Awaitable[object]],
    warmup: int = 300,
    untimed: Callable[[int], Awaitable[object]] | None = None,
) -> list[float]:
    """Time ``op(i)`` per sample; ``untimed(i)``, when given, runs after each sample outside the clock."""
    for i in range(warmup):  # warm-up: prepared statements, plans, caches, connections
        await op(samples + i)
    times: list[float] = []
    for i in range(samples):
        t = time.perf_counter()
        await op(i)
        times.append((time.perf_counter() - t) * 1000)
        if untimed:
            await untimed(i)
        if (i + 1) % max(samples // 10, 1) == 0:
            progress(label, i + 1, samples)
    return times


def report(rows: list[Measurement]) -> None:
    print()
    print(
        f"{'measurement':<46} {'median ms':>9} {'p99 ms':>8}   {'baseline':<10} {'median':>7} {'p99':>7}"
        f" {'ratio':>6}  target"
    )
    for label, ours, base, base_label, target in rows:
        med, p99 = statistics.median(ours), percentile(ours, 99)
        bmed, bp99 = statistics.median(base), percentile(base, 99)
        verdict = "" if target is None else f"p99 <= {target:g} ms: {'ok' if p99 <= target else 'MISSED'}"
        print(
            f"{label:<46} {med:9.3f} {p99:8.3f}   {base_label:<10} {bmed:7.3f} {bp99:7.3f}"
            f" {med / bmed:5.1f}x  {verdict}"
        )
    print("(ratio = our median / the baseline's median, both measured in this run)")


async def db_measurements(
    dsn: str, deep: list[uuid.UUID], roots: list[uuid.UUID], samples: int, n_nodes: int
) -> list[Measurement]:
    rng = random.Random(7)
    deep_sample = rng.sample(deep, min(samples, len(deep)))
    root_sample = rng.sample(roots, min(samples, len(roots)))
    conn = await asyncpg.connect(database.asyncpg_dsn(dsn))
    try:
        await database._init_connection(conn)
        baseline = await timed("baseline SELECT 1", samples, lambda i: conn.fetchval("SELECT 1"))
        uncached = await timed(
            "ancestry depth 10 (uncached)",
            samples,
            lambda i: graph.walk_ancestors(conn, deep_sample[i % len(deep_sample)], 10),
        )
        found = await graph.walk_ancestors(conn, deep_sample[0], 10)
        assert len(found) == 10, f"expected 10 ancestors, got {len(found)}"
        for node in deep_sample:  # fill the cache, then time lookups served from it
            await graph.refresh_ancestry(conn, node)
        cached = await timed(
            "ancestry depth 10 (cache)",
            samples,
            lambda i: graph.ancestry(conn, deep_sample[i % len(deep_sample)], 10),
        )
        down = await timed(
            "descendants depth 10",
            samples,
            lambda i: graph.descendants(conn, root_sample[i % len(root_sample)], 10),
        )
        assert len(await graph.descendants(conn, root_sample[0], 10)) == 18
    finally:
        await conn.close()
    size = f"{n_nodes / 1e6:g}M" if n_nodes >= 1_000_000 else f"{n_nodes:,}"
    return [
        (f"ancestry depth 10, {size} nodes (recursive CTE)", uncached, baseline, "SELECT 1", 5.0),
        (f"ancestry depth 10, {size} nodes (ancestry cache)", cached, baseline, "SELECT 1", 5.0),
        (f"descendants depth 10, {size} nodes", down, baseline, "SELECT 1", 20.0),
    ]


async def load_dense(dsn: str, n: int) -> list[uuid.UUID]:
    """A complete directed graph on ``n`` nodes (n * (n - 1) replaced_by edges), with COPY."""
    nodes = [uuid.uuid4() for _ in range(n)]
    conn = await asyncpg.connect(database.asyncpg_dsn(dsn))
    try:
        await conn.copy_records_to_table(
            "pattern_lineage_nodes",
            records=[(node, f"dense-{i}", f"dense-{i}", "code", "1.0.0") for i, node in enumerate(nodes)],
            columns=["id", "pattern_id", "pattern_name", "pattern_type", "pattern_version"],
        )
        await conn.copy_records_to_table(
            "pattern_lineage_edges",
            records=[(uuid.uuid4(), a, b, "replaced_by") for a in nodes for b in nodes if a != b],
            columns=["id", "source_node_id", "target_node_id", "edge_type"],
        )
        await conn.execute("ANALYZE pattern_lineage_edges")
    finally:
        await conn.close()
    return nodes


async def dense_measurements(dsn: str, nodes: list[uuid.UUID], samples: int) -> list[Measurement]:
    n = len(nodes)
    conn = await asyncpg.connect(database.asyncpg_dsn(dsn))
    try:
        await database._init_connection(conn)
        baseline = await timed("baseline SELECT 1", samples, lambda i: conn.fetchval("SELECT 1"))
        up = await timed(
            "dense ancestry depth 10",
            samples,
            lambda i: graph.walk_ancestors(conn, nodes[i % n], 10),
        )
        found = await graph.walk_ancestors(conn, nodes[0], 10)
        assert len(found) == n - 1, f"expected {n - 1} ancestors, got {len(found)}"
        down = await timed(
            "dense descendants depth 10", samples, lambda i: graph.descendants(conn, nodes[i % n], 10)
        )
        assert len(await graph.descendants(conn, nodes[0], 10)) == n - 1
        for node in nodes:  # cached ancestry everywhere: what a new edge has to mark stale
            await graph.refresh_ancestry(conn, node)

        async def invalidate(i: int) -> None:
            tx = conn.transaction()  # rolled back, so every sample marks all n caches stale
            await tx.start()
            try:
                await graph.invalidate_ancestry_below(conn, nodes[i % n])
            finally:
                await tx.rollback()

        async def vacuum(i: int) -> None:  # each rolled-back sample leaves n dead rows in the cache table
            if i % 50 == 49:
                await conn.execute("VACUUM pattern_ancestry_cache")

        stale = await timed("dense cache invalidation", samples, invalidate, warmup=49, untimed=vacuum)
    finally:
        await conn.close()
    shape = f"{n} nodes, {n * (n - 1):,} edges"
    return [
        (f"dense cyclic {shape}: ancestry", up, baseline, "SELECT 1", 20.0),
        (f"dense cyclic {shape}: descendants", down, baseline, "SELECT 1", 20.0),
        (f"dense cyclic {shape}: invalidation", stale, baseline, "SELECT 1", 20.0),
    ]


def start_api(dsn: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "traceability.cli.main",
            "api",
            "--port",
            str(port),
            "--db-url",
            dsn,
            "--no-deriver",
        ],
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}{API_PREFIX}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("traceability api did not start")
        time.sleep(0.1)


async def http_measurements(base: str, samples: int) -> list[Measurement]:
    run = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        health = await timed("baseline GET health (HTTP)", samples, lambda i: client.get("/health"))

        async def create(i: int) -> None:
            r = await client.post(
                "/lineage/track",
                json={
                    "event_type": "pattern_created",
                    "pattern_id": f"http-{run}-{i}-{time.perf_counter_ns()}",
                },
            )
            assert r.status_code == 200 and r.json()["data"]["status"] == "created", r.text

        created = await timed("POST lineage/track created (HTTP)", samples, create)

        async def modify(i: int) -> None:
            r = await client.post(
                "/lineage/track",
                json={
                    "event_type": "pattern_modified",
                    "pattern_id": f"mod-{run}",
                    "pattern_version": f"1.0.{i}-{time.perf_counter_ns()}",
                },
            )
            assert r.status_code == 200 and r.json()["data"]["status"] == "created", r.text

        await client.post(
            "/lineage/track", json={"event_type": "pattern_created", "pattern_id": f"mod-{run}"}
        )
        modified = await timed("POST lineage/track modified (HTTP)", samples, modify)
    return [
        ("POST lineage/track, pattern_created", created, health, "GET health", 10.0),
        ("POST lineage/track, pattern_modified", modified, health, "GET health", 10.0),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--dense-nodes", type=int, default=30, help="nodes of the complete cyclic graph")
    args = parser.parse_args()

    with bench_database("lineage") as (dsn, where):
        return run(args, dsn, where)


def run(args: argparse.Namespace, dsn: str, where: str) -> int:
    print(
        f"bench/lineage: {args.nodes:,} nodes, {args.samples} samples per measurement, on {where}", flush=True
    )
    api: subprocess.Popen[bytes] | None = None
    try:
        database.upgrade(dsn)
        t = time.perf_counter()
        deep, roots = asyncio.run(load_graph(dsn, args.nodes))
        print(f"  loaded in {time.perf_counter() - t:.1f} s", flush=True)
        rows = asyncio.run(db_measurements(dsn, deep, roots, args.samples, len(deep) * LINEAGE_SIZE))
        dense = asyncio.run(load_dense(dsn, args.dense_nodes))
        rows += asyncio.run(dense_measurements(dsn, dense, args.samples))
        api, base = start_api(dsn)
        rows += asyncio.run(http_measurements(base, args.samples))
        report(rows)
        return 0
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
