"""Lineage walks and cache invalidation stay linear in the edges they visit, on dense cyclic graphs.

The walks used to carry the path per row (UNION ALL + path arrays), which enumerates every simple
path: on 11 nodes joined by ``replaced_by`` edges through deprecations, each deprecation's cache
invalidation took 0.7 s, then 6.1 s, then timed out. Results are checked against a breadth-first
search written here; the cost is the number of edge rows PostgreSQL read (EXPLAIN ANALYZE), never
a time. A statement timeout only keeps a regression from hanging the run.
"""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from traceability.lineage_api.app import API_PREFIX, create_app
from traceability.lineage_api.settings import Settings
from traceability.lineage_api.store import graph
from traceability.lineage_api.store import lineage as store

Edge = tuple[uuid.UUID, uuid.UUID, str]  # source (parent) -> target (child), edge_type
EDGE_TYPES = ("derived_from", "modified_from", "replaced_by")


def bfs(edges: list[Edge], start: uuid.UUID, max_depth: int, *, backwards: bool) -> dict[uuid.UUID, Any]:
    """node -> (depth, edge_type, neighbour it was reached from), the edge being the lowest
    (edge_type, neighbour id) among those from the previous level."""
    out: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
    for source, target, edge_type in edges:
        if backwards:
            out[target].append((source, edge_type))
        else:
            out[source].append((target, edge_type))
    found: dict[uuid.UUID, tuple[int, str, uuid.UUID]] = {}
    seen, frontier, depth = {start}, [start], 0
    while frontier and depth < max_depth:
        depth += 1
        reached: dict[uuid.UUID, tuple[str, uuid.UUID]] = {}
        for node in frontier:
            for nxt, edge_type in out[node]:
                if nxt not in seen and (nxt not in reached or (edge_type, node) < reached[nxt]):
                    reached[nxt] = (edge_type, node)
        for nxt, (edge_type, via) in reached.items():
            found[nxt] = (depth, edge_type, via)
        seen |= reached.keys()
        frontier = list(reached)
    return found


def complete_graph(n: int) -> tuple[list[uuid.UUID], list[Edge]]:
    nodes = [uuid.uuid4() for _ in range(n)]
    return nodes, [(a, b, "replaced_by") for a in nodes for b in nodes if a != b]


def random_cyclic_graph(n: int, p: float, seed: int) -> tuple[list[uuid.UUID], list[Edge]]:
    """Random edges of mixed types (cycles of every length), a ring so depths reach far, and
    parallel edges of two types between some pairs."""
    rng = random.Random(seed)
    nodes = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(n)]
    edges = {(a, b, rng.choice(EDGE_TYPES)) for a in nodes for b in nodes if a != b and rng.random() < p}
    edges |= {(nodes[i], nodes[(i + 1) % n], "modified_from") for i in range(n)}
    edges |= {(a, b, "derived_from") for a, b, t in list(edges) if t == "replaced_by" and rng.random() < 0.3}
    return nodes, sorted(edges)


BACKGROUND_CHAINS, CHAIN_LENGTH = 2000, 10  # other lineages, so the tables have a realistic size


async def load(conn: asyncpg.Connection, nodes: list[uuid.UUID], edges: list[Edge]) -> None:
    """The graph under test, beside 20,000 nodes of unrelated chains: on a table of a few hundred
    rows the planner would rightly read all of it at every level, which says nothing of the walk."""
    chains = [[uuid.uuid4() for _ in range(CHAIN_LENGTH)] for _ in range(BACKGROUND_CHAINS)]
    all_nodes = nodes + [node for chain in chains for node in chain]
    all_edges = edges + [(a, b, "modified_from") for chain in chains for a, b in itertools.pairwise(chain)]
    await conn.copy_records_to_table(
        "pattern_lineage_nodes",
        records=[(node, f"p{i:05d}", f"p{i:05d}", "code", "1.0.0") for i, node in enumerate(all_nodes)],
        columns=["id", "pattern_id", "pattern_name", "pattern_type", "pattern_version"],
    )
    await conn.copy_records_to_table(
        "pattern_lineage_edges",
        records=[(uuid.uuid4(), s, t, e) for s, t, e in all_edges],
        columns=["id", "source_node_id", "target_node_id", "edge_type"],
    )
    await conn.execute("ANALYZE pattern_lineage_nodes")
    await conn.execute("ANALYZE pattern_lineage_edges")


def _edge_reads(plan: dict[str, Any]) -> tuple[float, int]:
    """(rows of pattern_lineage_edges the plan read, returned or filtered out, over all loops; loops)."""
    rows, loops = 0.0, 0
    if plan.get("Relation Name") == "pattern_lineage_edges":
        per_loop = (
            plan["Actual Rows"]
            + plan.get("Rows Removed by Filter", 0)
            + plan.get("Rows Removed by Index Recheck", 0)
        )
        rows, loops = per_loop * plan["Actual Loops"], plan["Actual Loops"]
    for child in plan.get("Plans", []):
        child_rows, child_loops = _edge_reads(child)
        rows, loops = rows + child_rows, loops + child_loops
    return rows, loops


async def rows_read(conn: asyncpg.Connection, sql: str, *args: object) -> float:
    """Run ``sql`` under EXPLAIN ANALYZE (rolled back): the edge rows it read, less the rounding of
    EXPLAIN's per-loop averages (at most half a row per loop)."""
    tx = conn.transaction()
    await tx.start()
    try:
        out = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
    finally:
        await tx.rollback()
    rows, loops = _edge_reads((json.loads(out) if isinstance(out, str) else out)[0]["Plan"])
    return rows - loops / 2


@pytest.fixture
async def conn(db_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with db_pool.acquire() as c:
        await c.execute("SET statement_timeout = '30s'")  # a regression fails instead of hanging
        yield c


async def fill_cache(conn: asyncpg.Connection, nodes: list[uuid.UUID]) -> None:
    for node in nodes:
        await graph.refresh_ancestry(conn, node)


def check_walk(entries: list[graph.Relative], expected: dict[uuid.UUID, Any]) -> None:
    got = {r.node_id: (r.depth, r.edge_type, r.via_node_id) for r in entries}
    assert len(got) == len(entries)  # each node once
    assert got == expected
    assert [r.depth for r in entries] == sorted(r.depth for r in entries)


async def test_a_complete_cyclic_graph_of_30_nodes_is_walked_once_per_edge(conn: asyncpg.Connection) -> None:
    nodes, edges = complete_graph(30)
    await load(conn, nodes, edges)
    for start in nodes[:3]:
        ancestors = await graph.walk_ancestors(conn, start, 10)
        check_walk(ancestors, bfs(edges, start, 10, backwards=True))
        assert len(ancestors) == 29 and {a.depth for a in ancestors} == {1}
        check_walk(await graph.descendants(conn, start, 10), bfs(edges, start, 10, backwards=False))
    # each node is expanded once: no edge is read twice (870 edges)
    assert 0 < await rows_read(conn, graph.ANCESTRY_SQL, nodes[0], 10) <= len(edges)
    assert 0 < await rows_read(conn, graph.DESCENDANTS_SQL, nodes[0], 10) <= len(edges)
    await fill_cache(conn, nodes)  # else the invalidation has nothing to update and reads nothing
    assert 0 < await rows_read(conn, graph.INVALIDATE_BELOW_SQL, nodes[0]) <= len(edges)


@pytest.mark.parametrize("seed", [1, 2])
async def test_walks_on_a_random_dense_cyclic_graph_match_a_bfs(conn: asyncpg.Connection, seed: int) -> None:
    nodes, edges = random_cyclic_graph(40, 0.06, seed)
    await load(conn, nodes, edges)
    deepest = 0
    for start in nodes[:8]:
        for depth in (1, 2, 3, 25):
            ancestors = await graph.walk_ancestors(conn, start, depth)
            check_walk(ancestors, bfs(edges, start, depth, backwards=True))
            found = await graph.descendants(conn, start, depth)
            check_walk(found, bfs(edges, start, depth, backwards=False))
        deepest = max(deepest, *(a.depth for a in ancestors))
    assert deepest > 3  # the depth caps above were reached, not just depth 1
    await fill_cache(conn, nodes)
    for start in nodes[:3]:
        assert 0 < await rows_read(conn, graph.ANCESTRY_SQL, start, 25) <= len(edges)
        assert 0 < await rows_read(conn, graph.DESCENDANTS_SQL, start, 25) <= len(edges)
        assert 0 < await rows_read(conn, graph.INVALIDATE_BELOW_SQL, start) <= len(edges)


async def test_invalidation_marks_exactly_the_nodes_below(conn: asyncpg.Connection) -> None:
    nodes, edges = random_cyclic_graph(40, 0.12, 3)
    roots = [uuid.uuid4() for _ in range(4)]  # above everything: never below anything
    edges += [(r, nodes[i], "derived_from") for i, r in enumerate(roots)]
    nodes += roots
    await load(conn, nodes, edges)
    await fill_cache(conn, nodes)
    await graph.invalidate_ancestry_below(conn, nodes[5])
    stale = {
        r[0] for r in await conn.fetch("SELECT pattern_node_id FROM pattern_ancestry_cache WHERE is_stale")
    }
    assert stale == {nodes[5], *bfs(edges, nodes[5], len(nodes), backwards=False)}
    assert not stale & set(roots)


@pytest.fixture
async def client(db_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings.resolve(db_url=db_dsn, run_deriver=False))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost" + API_PREFIX
        ) as c,
    ):
        yield c


async def test_deprecations_over_the_api_build_a_dense_graph_that_stays_cheap(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool
) -> None:
    """The report: 11 patterns, each deprecated in favour of all the others (110 replaced_by edges)."""
    names = [f"svc-{i:02d}" for i in range(11)]
    async with db_pool.acquire() as conn:
        await load(conn, [], [])
    for name in names:
        r = await client.post("/lineage/track", json={"event_type": "pattern_created", "pattern_id": name})
        assert r.status_code == 200, r.text
    for name in names:
        async with db_pool.acquire() as conn:  # fresh cached ancestry everywhere: each invalidation has work
            await fill_cache(conn, [(await store.resolve_node(conn, other)).id for other in names])
        r = await client.post(
            "/lineage/track",
            json={
                "event_type": "pattern_deprecated",
                "pattern_id": name,
                "parent_pattern_ids": [o for o in names if o != name],
                "edge_type": "replaced_by",
            },
        )
        assert r.status_code == 200, r.text
    async with db_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT s.pattern_id, t.pattern_id FROM pattern_lineage_edges e JOIN pattern_lineage_nodes s "
            "ON s.id = e.source_node_id JOIN pattern_lineage_nodes t ON t.id = e.target_node_id "
            "WHERE s.pattern_id LIKE 'svc-%'"
        )
        assert sorted(tuple(r) for r in rows) == [(a, b) for a in names for b in names if a != b]
        node = await store.resolve_node(conn, names[0])
        assert await rows_read(conn, graph.INVALIDATE_BELOW_SQL, node.id) <= len(rows)
    for query_type in ("ancestry", "descendants"):
        data = (await client.get(f"/lineage/{names[0]}", params={"query_type": query_type})).json()["data"]
        found = data["ancestors"] if query_type == "ancestry" else data["descendants"]
        assert sorted(
            (e.get("ancestor_pattern_id") or e.get("descendant_pattern_id"), e["generation"]) for e in found
        ) == [(n, 1) for n in names[1:]]
