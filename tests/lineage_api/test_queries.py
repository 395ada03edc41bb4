"""GET lineage (ancestry/descendants), evolution, stats, patterns, traces, health: bodies and errors."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from tests.support.scripted_session import ScriptedSession
from traceability.instrumentation import semconv
from traceability.lineage_api.app import API_PREFIX, create_app
from traceability.lineage_api.deriver.pipeline import PatternDeriver
from traceability.lineage_api.settings import Settings

TRACK = "/lineage/track"


async def chain(client: httpx.AsyncClient, pattern_id: str, n: int) -> list[dict[str, object]]:
    """Versions 1.0.0 .. n.0.0 of one pattern, each modified_from the previous."""
    nodes = [
        (await client.post(TRACK, json={"event_type": "pattern_created", "pattern_id": pattern_id})).json()[
            "data"
        ]
    ]
    for i in range(2, n + 1):
        r = await client.post(
            TRACK,
            json={
                "event_type": "pattern_modified",
                "pattern_id": pattern_id,
                "pattern_version": f"{i}.0.0",
                "transformation_type": "enhancement",
            },
        )
        nodes.append(r.json()["data"])
    return nodes


async def test_ancestry_recursive_with_generations_edges_and_depth_cap(client: httpx.AsyncClient) -> None:
    nodes = await chain(client, "chain", 6)
    r = await client.get("/lineage/chain", params={"query_type": "ancestry"})
    assert r.status_code == 200
    body = r.json()
    assert body["metadata"]["query_type"] == "ancestry" and body["metadata"]["processing_time_ms"] > 0
    data = body["data"]
    assert (data["pattern_id"], data["pattern_version"], data["pattern_node_id"]) == (
        "chain",
        "6.0.0",
        nodes[5]["node_id"],
    )
    assert (data["generation"], data["max_depth"], data["ancestry_depth"], data["total_ancestors"]) == (
        6,
        10,
        5,
        5,
    )
    assert data["from_cache"] is True  # cached when each version was tracked
    assert [a["ancestor_version"] for a in data["ancestors"]] == ["5.0.0", "4.0.0", "3.0.0", "2.0.0", "1.0.0"]
    assert [a["generation"] for a in data["ancestors"]] == [1, 2, 3, 4, 5]
    assert [a["node_generation"] for a in data["ancestors"]] == [5, 4, 3, 2, 1]
    assert {a["edge_type"] for a in data["ancestors"]} == {"modified_from"}
    assert {a["transformation_type"] for a in data["ancestors"]} == {"enhancement"}
    assert [a["ancestor_id"] for a in data["ancestors"]] == [n["node_id"] for n in reversed(nodes[:5])]
    assert [a["child_node_id"] for a in data["ancestors"]] == [n["node_id"] for n in reversed(nodes[1:])]
    assert all(a["ancestor_pattern_id"] == "chain" for a in data["ancestors"])

    capped = (await client.get("/lineage/chain", params={"max_depth": 2})).json()["data"]
    assert [a["ancestor_version"] for a in capped["ancestors"]] == ["5.0.0", "4.0.0"]
    assert (capped["ancestry_depth"], capped["total_ancestors"], capped["from_cache"]) == (2, 2, True)

    older = (await client.get("/lineage/chain", params={"version": "3.0.0"})).json()["data"]
    assert [a["ancestor_version"] for a in older["ancestors"]] == ["2.0.0", "1.0.0"]


async def cache_rows(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        return [
            dict(r) for r in await conn.fetch("SELECT * FROM pattern_ancestry_cache ORDER BY pattern_node_id")
        ]


async def stale_below_a_new_edge(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """cached 1.0.0 -> 2.0.0 -> child, then older -> cached 2.0.0 (a deprecation): child's cache is stale."""
    nodes = await chain(client, "cached", 2)
    r = await client.post(
        TRACK, json={"event_type": "pattern_created", "pattern_id": "child", "parent_pattern_ids": ["cached"]}
    )
    nodes.append(r.json()["data"])
    await client.post(TRACK, json={"event_type": "pattern_created", "pattern_id": "older"})
    await client.post(
        TRACK,
        json={"event_type": "pattern_deprecated", "pattern_id": "older", "parent_pattern_ids": ["cached"]},
    )
    return nodes


async def test_ancestry_is_cached_where_the_lineage_changes(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool
) -> None:
    nodes = await chain(client, "cached", 2)
    first = (await client.get("/lineage/cached")).json()["data"]
    assert first["from_cache"] is True
    assert [a["ancestor_id"] for a in first["ancestors"]] == [nodes[0]["node_id"]]
    row = next(r for r in await cache_rows(db_pool) if str(r["pattern_node_id"]) == nodes[1]["node_id"])
    assert [str(i) for i in row["ancestor_ids"]] == [nodes[0]["node_id"]]
    assert (row["ancestor_pattern_ids"], row["ancestry_depth"], row["total_ancestors"], row["is_stale"]) == (
        ["cached"],
        1,
        1,
        False,
    )


async def test_a_new_edge_refreshes_its_child_and_marks_the_nodes_below_stale(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool
) -> None:
    nodes = await stale_below_a_new_edge(client)
    stale = {str(r["pattern_node_id"]): r["is_stale"] for r in await cache_rows(db_pool)}
    assert (stale[nodes[1]["node_id"]], stale[nodes[2]["node_id"]]) == (False, True)
    refreshed = (await client.get("/lineage/cached")).json()["data"]
    assert refreshed["from_cache"] is True
    assert [(a["ancestor_pattern_id"], a["edge_type"]) for a in refreshed["ancestors"]] == [
        ("cached", "modified_from"),
        ("older", "replaced_by"),
    ]
    below = (await client.get("/lineage/child")).json()["data"]
    assert below["from_cache"] is False  # stale: walked again
    assert [(a["ancestor_pattern_id"], a["generation"]) for a in below["ancestors"]] == [
        ("cached", 1),
        ("cached", 2),
        ("older", 2),
    ]


async def test_a_lineage_get_leaves_the_ancestry_cache_unchanged(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool
) -> None:
    """A read is a read: stale, missing, too shallow or fresh, GET lineage writes nothing."""
    nodes = await stale_below_a_new_edge(client)
    async with db_pool.acquire() as conn:  # a node tracked before its ancestry was cached
        await conn.execute(
            "DELETE FROM pattern_ancestry_cache WHERE pattern_node_id = $1",
            uuid.UUID(str(nodes[0]["node_id"])),
        )
    before = await cache_rows(db_pool)
    reads: list[tuple[str, dict[str, Any]]] = [
        ("child", {}),  # stale
        ("cached", {"version": "1.0.0"}),  # no cache row
        ("cached", {"max_depth": 20}),  # deeper than the cache holds
        ("cached", {}),  # fresh
        ("cached", {"query_type": "descendants"}),
        ("child", {"format": "mermaid"}),
    ]
    for pattern_id, params in reads:
        r = await client.get(f"/lineage/{pattern_id}", params=params)
        assert r.status_code == 200, r.text
    assert await cache_rows(db_pool) == before


async def test_graph_walks_stop_at_cycles(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    nodes = await chain(client, "loop", 3)
    async with db_pool.acquire() as conn:  # close the loop 3.0.0 -> 1.0.0 by hand
        await conn.execute(
            "INSERT INTO pattern_lineage_edges (source_node_id, target_node_id, edge_type) VALUES ($1, $2, 'inspired_by')",
            uuid.UUID(str(nodes[2]["node_id"])),
            uuid.UUID(str(nodes[0]["node_id"])),
        )
    data = (await client.get("/lineage/loop", params={"max_depth": 50})).json()["data"]
    assert [(a["ancestor_version"], a["generation"]) for a in data["ancestors"]] == [
        ("2.0.0", 1),
        ("1.0.0", 2),
    ]
    down = (await client.get("/lineage/loop", params={"query_type": "descendants", "max_depth": 50})).json()[
        "data"
    ]
    assert [(d["descendant_version"], d["generation"]) for d in down["descendants"]] == [
        ("1.0.0", 1),
        ("2.0.0", 2),
    ]


async def test_descendants_recursive(client: httpx.AsyncClient) -> None:
    nodes = await chain(client, "tree", 3)
    await client.post(
        TRACK,
        json={
            "event_type": "pattern_forked",
            "pattern_id": "branch",
            "parent_pattern_ids": ["tree"],
            "transformation_type": "bugfix",
        },
    )
    r = await client.get("/lineage/tree", params={"query_type": "descendants", "version": "1.0.0"})
    body = r.json()
    assert body["metadata"]["query_type"] == "descendants"
    data = body["data"]
    assert (data["pattern_node_id"], data["total_descendants"], data["descendants_depth"]) == (
        nodes[0]["node_id"],
        3,
        3,
    )
    assert [(d["descendant_pattern_id"], d["descendant_version"], d["generation"], d["edge_type"], d["transformation_type"])
            for d in data["descendants"]] == [
        ("tree", "2.0.0", 1, "modified_from", "enhancement"),
        ("tree", "3.0.0", 2, "modified_from", "enhancement"),
        ("branch", "1.0.0", 3, "derived_from", "bugfix"),
    ]  # fmt: skip
    assert data["descendants"][2]["parent_node_id"] == nodes[2]["node_id"]
    assert data["descendants"][2]["node_generation"] == 4
    shallow = (
        await client.get(
            "/lineage/tree", params={"query_type": "descendants", "version": "1.0.0", "max_depth": 1}
        )
    ).json()
    assert [d["descendant_version"] for d in shallow["data"]["descendants"]] == ["2.0.0"]


async def test_lineage_errors_and_drawings(client: httpx.AsyncClient) -> None:
    await chain(client, "drawn", 2)
    r = await client.get("/lineage/nobody")
    assert (r.status_code, r.json()["error"], r.json()["success"]) == (
        404,
        "pattern 'nobody' not found",
        False,
    )
    r = await client.get("/lineage/drawn", params={"version": "9.9.9"})
    assert (r.status_code, r.json()["error"]) == (404, "pattern 'drawn' version '9.9.9' not found")
    r = await client.get("/lineage/drawn", params={"query_type": "siblings"})
    assert r.status_code == 422 and "'ancestry' or 'descendants'" in r.json()["error"]
    r = await client.get("/lineage/drawn", params={"max_depth": 0})
    assert r.status_code == 422 and "max_depth" in r.json()["error"]
    r = await client.get("/lineage/drawn", params={"max_depth": 51})
    assert (r.status_code, r.json()["error"]) == (400, "max_depth must be between 1 and 50")

    mermaid = await client.get("/lineage/drawn", params={"format": "mermaid"})
    assert mermaid.status_code == 200 and mermaid.headers["content-type"].startswith("text/plain")
    assert mermaid.text.splitlines() == [
        "graph TD",
        '    n0["drawn@2.0.0"]',
        '    n1["drawn@1.0.0"]',
        "    n1 -->|modified_from (enhancement)| n0",
        "    style n0 stroke-width:3px",
    ]
    dot = (
        await client.get(
            "/lineage/drawn", params={"format": "dot", "query_type": "descendants", "version": "1.0.0"}
        )
    ).text
    assert (
        'n0 [label="drawn@1.0.0", penwidth=3];' in dot
        and 'n0 -> n1 [label="modified_from (enhancement)"];' in dot
    )


async def test_evolution_lists_versions_and_edges(client: httpx.AsyncClient) -> None:
    await client.post(
        TRACK, json={"event_type": "pattern_created", "pattern_id": "origin", "pattern_name": "Origin"}
    )
    await client.post(
        TRACK,
        json={
            "event_type": "pattern_created",
            "pattern_id": "evo",
            "pattern_name": "Evo",
            "pattern_version": "1.0.0",
            "parent_pattern_ids": ["origin"],
            "edge_type": "derived_from",
            "transformation_type": "optimization",
            "file_path": "/e.py",
        },
    )
    await client.post(
        TRACK, json={"event_type": "pattern_modified", "pattern_id": "evo", "pattern_version": "1.1.0"}
    )
    r = await client.get("/lineage/evo/evolution")
    assert r.status_code == 200
    body = r.json()
    data = body["data"]
    assert (data["pattern_id"], data["total_versions"]) == ("evo", 2)
    assert body["metadata"]["total_nodes"] == 2 and body["metadata"]["total_edges"] == 2
    v1, v2 = data["evolution_nodes"]
    assert (v1["version"], v1["generation"], v1["pattern_name"], v1["pattern_type"], v1["file_path"], v1["status"]) == (
        "1.0.0", 2, "Evo", "code", "/e.py", "active",
    )  # fmt: skip
    assert (v2["version"], v2["generation"], v2["pattern_name"]) == ("1.1.0", 3, "Evo")
    e1, e2 = data["evolution_edges"]
    assert (e1["source_pattern_id"], e1["source_version"], e1["target_pattern_id"], e1["target_version"]) == (
        "origin", "1.0.0", "evo", "1.0.0",
    )  # fmt: skip
    assert (e1["edge_type"], e1["transformation_type"], e1["edge_weight"]) == (
        "derived_from",
        "optimization",
        1.0,
    )
    assert (e2["source_version"], e2["target_version"], e2["edge_type"], e2["transformation_type"]) == (
        "1.0.0", "1.1.0", "modified_from", "refactor",
    )  # fmt: skip
    assert (e2["source_node_id"], e2["target_node_id"]) == (v1["node_id"], v2["node_id"])
    r = await client.get("/lineage/nope/evolution")
    assert (r.status_code, r.json()["error"]) == (404, "pattern 'nope' not found")


async def derived_session(db_dsn: str, db_pool: asyncpg.Pool) -> ScriptedSession:
    s = ScriptedSession()
    s.turn()
    s.tool(
        "Write",
        "/repo/app/models.py",
        "def load_user(uid):\n    return db.get(uid)\n\n\ndef save_user(u):\n    db.put(u)\n",
    )
    s.tool("Write", "/repo/web/index.ts", "export const answer = (x: number) => x * 42;\n")
    s.tool(
        "Edit",
        "/repo/app/models.py",
        "def load_user(uid):\n    return db.get(uid) or None\n\n\ndef save_user(u):\n    db.put(u)\n",
    )
    await s.flush(db_dsn)
    await PatternDeriver().run(db_pool)
    return s


async def test_stats_counts_everything(client: httpx.AsyncClient, db_pool: asyncpg.Pool, db_dsn: str) -> None:
    await derived_session(db_dsn, db_pool)
    await chain(client, "s", 2)
    data = (await client.get("/stats")).json()["data"]
    async with db_pool.acquire() as conn:
        expected = {
            "total_patterns": await conn.fetchval(
                "SELECT count(DISTINCT pattern_id) FROM pattern_lineage_nodes"
            ),
            "total_nodes": await conn.fetchval("SELECT count(*) FROM pattern_lineage_nodes"),
            "total_edges": await conn.fetchval("SELECT count(*) FROM pattern_lineage_edges"),
            "total_events": await conn.fetchval("SELECT count(*) FROM pattern_lineage_events"),
            "total_traces": await conn.fetchval("SELECT count(*) FROM execution_traces"),
            "total_hook_executions": await conn.fetchval("SELECT count(*) FROM hook_executions"),
            "total_pattern_executions": await conn.fetchval("SELECT count(*) FROM pattern_executions"),
        }
    assert {k: data[k] for k in expected} == expected
    assert expected == {
        "total_patterns": 4,  # load_user, save_user, index.ts, s
        "total_nodes": 6,
        "total_edges": 2,
        "total_events": 6,
        "total_traces": 1,
        "total_hook_executions": 3,
        "total_pattern_executions": 5,
    }
    assert data["nodes_by_status"] == {"active": 6}
    assert data["edges_by_type"] == {"modified_from": 2}
    assert data["events_by_type"] == {"pattern_created": 4, "pattern_modified": 2}
    assert set(data["deriver_checkpoint"]) == {"xid", "created_at", "started_at", "id"}


async def test_patterns_filter_and_paginate(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    await derived_session(db_dsn, db_pool)
    all_ = (await client.get("/patterns")).json()["data"]
    assert all_["total"] == 3 and all_["has_more"] is False and (all_["limit"], all_["offset"]) == (50, 0)
    by_file = (await client.get("/patterns", params={"file_path": "/repo/app/models.py"})).json()["data"]
    assert sorted(p["qualified_name"] for p in by_file["patterns"]) == ["load_user", "save_user"]
    load = next(p for p in by_file["patterns"] if p["qualified_name"] == "load_user")
    assert (load["latest_version"], load["total_versions"], load["generation"], load["total_executions"]) == (
        "1.0.1",
        2,
        2,
        2,
    )
    assert (load["language"], load["pattern_type"], load["status"], load["pattern_name"]) == (
        "python",
        "function",
        "active",
        "load_user",
    )
    ts = (await client.get("/patterns", params={"language": "TypeScript"})).json()["data"]["patterns"]
    assert [(p["qualified_name"], p["file_path"]) for p in ts] == [("<file>", "/repo/web/index.ts")]
    named = (await client.get("/patterns", params={"name": "save"})).json()["data"]["patterns"]
    assert [p["qualified_name"] for p in named] == ["save_user"]
    by_id = (await client.get("/patterns", params={"name": load["pattern_id"]})).json()["data"]["patterns"]
    assert [p["pattern_id"] for p in by_id] == [load["pattern_id"]]
    assert (await client.get("/patterns", params={"name": "%"})).json()["data"]["total"] == 0
    page = (await client.get("/patterns", params={"limit": 2, "offset": 0})).json()["data"]
    rest = (await client.get("/patterns", params={"limit": 2, "offset": 2})).json()["data"]
    assert (len(page["patterns"]), page["has_more"], len(rest["patterns"]), rest["has_more"]) == (
        2,
        True,
        1,
        False,
    )
    assert {p["pattern_id"] for p in page["patterns"] + rest["patterns"]} == {
        p["pattern_id"] for p in all_["patterns"]
    }
    beyond = (await client.get("/patterns", params={"limit": 2, "offset": 10})).json()["data"]
    assert (beyond["patterns"], beyond["total"], beyond["has_more"]) == ([], 3, False)
    r = await client.get("/patterns", params={"limit": 501})
    assert r.status_code == 422 and "limit" in r.json()["error"]
    r = await client.get("/patterns", params={"status": "zombie"})
    assert r.status_code == 422 and "status" in r.json()["error"]


async def test_trace_with_hook_executions_and_jaeger_link(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    s = await derived_session(db_dsn, db_pool)
    trace_hex = s.trace_id
    r = await client.get(f"/traces/{uuid.UUID(trace_hex)}")
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["correlation_id"] == str(uuid.UUID(trace_hex))
    assert data["jaeger_trace_id"] == trace_hex
    assert data["jaeger_url"] == f"http://jaeger.test:16686/trace/{trace_hex}"
    assert data["ui_url"] == f"/turns/{trace_hex}"
    assert data["trace"]["session_id"] == s.session_id and data["trace"]["user_id"] == s.user_id
    assert data["trace"]["otel_trace_id"] == trace_hex
    assert data["total_hook_executions"] == 3 and data["hook_executions"] is None  # no payloads by default
    tools = [t for t in data["timeline"] if t["origin"] == "hooks" and t["kind"] == "tool"]
    assert [t["tool_use_id"] for t in tools] == s.tool_use_ids
    assert [t["details"]["tool_name"] for t in tools] == ["Write", "Write", "Edit"]
    assert [x["tool_use_id"] for x in data["pattern_executions"]] == [
        s.tool_use_ids[0], s.tool_use_ids[0], s.tool_use_ids[1], s.tool_use_ids[2], s.tool_use_ids[2],
    ]  # fmt: skip
    full = (await client.get(f"/traces/{trace_hex}", params={"detail": "full"})).json()["data"]
    assert [h["tool_use_id"] for h in full["hook_executions"]] == s.tool_use_ids
    assert [h["tool_name"] for h in full["hook_executions"]] == ["Write", "Write", "Edit"]
    assert full["hook_executions"][1]["attributes"][semconv.CODE_CONTENT].startswith("export const answer")
    assert {k: v for k, v in full.items() if k != "hook_executions"} == {
        k: v for k, v in data.items() if k != "hook_executions"
    }
    assert (await client.get(f"/traces/{trace_hex}", params={"detail": "everything"})).status_code == 422
    # the Jaeger id (32 hex) is accepted too
    assert (await client.get(f"/traces/{trace_hex}")).json()["data"]["correlation_id"] == str(
        uuid.UUID(trace_hex)
    )
    missing = uuid.uuid4()
    r = await client.get(f"/traces/{missing}")
    assert (r.status_code, r.json()["error"]) == (404, f"trace '{missing}' not found")
    r = await client.get("/traces/not-a-uuid")
    assert r.status_code == 422 and "correlation_id" in r.json()["error"]


async def test_one_span_of_a_trace_whole_with_the_pattern_executions_it_caused(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool, db_dsn: str
) -> None:
    s = await derived_session(db_dsn, db_pool)
    timeline = (await client.get(f"/traces/{s.trace_id}")).json()["data"]["timeline"]
    first = next(t for t in timeline if t["tool_use_id"] == s.tool_use_ids[0])
    r = await client.get(f"/traces/{s.trace_id}/spans/{first['span_id'].upper()}")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert (data["correlation_id"], data["span_id"], data["origin"]) == (
        str(uuid.UUID(s.trace_id)), first["span_id"], "hooks",
    )  # fmt: skip
    span = data["span"]
    assert (span["span_id"], span["tool_use_id"], span["tool_name"]) == (
        first["span_id"],
        s.tool_use_ids[0],
        "Write",
    )
    assert span["attributes"][semconv.CODE_CONTENT].startswith("def load_user(uid):")
    assert sorted(x["pattern_name"] for x in data["pattern_executions"]) == ["load_user", "save_user"]
    assert {x["hook_execution_id"] for x in data["pattern_executions"]} == {span["id"]}
    root = (await client.get(f"/traces/{s.trace_id}")).json()["data"]["trace"]
    assert first["parent_span_id"] == root["root_span_id"]  # the timeline's parent can be asked for too
    r = await client.get(f"/traces/{s.trace_id}/spans/{root['root_span_id']}")
    assert r.status_code == 200, r.text
    turn = r.json()["data"]
    assert (turn["origin"], turn["pattern_executions"]) == ("turn", [])
    assert (turn["span"]["id"], turn["span"]["prompt_id"]) == (str(uuid.UUID(s.trace_id)), root["prompt_id"])
    missing = await client.get(f"/traces/{s.trace_id}/spans/{'f' * 16}")
    assert missing.status_code == 404 and "not found" in missing.json()["error"]
    assert (await client.get(f"/traces/{uuid.uuid4()}/spans/{first['span_id']}")).status_code == 404
    assert (await client.get(f"/traces/{s.trace_id}/spans/not-a-span")).status_code == 422


async def test_health_reports_database_pool_and_deriver(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert (body["success"], body["status"]) == (True, "healthy")
    assert body["components"]["database"] == "healthy"
    assert body["components"]["pattern_deriver"] == {"enabled": False}
    pool = body["performance"]["database_pool"]
    assert (pool["min_size"], pool["max_size"]) == (2, 20) and pool["pool_size"] >= 1
    assert body["response_time_ms"] > 0


async def test_database_down_gives_503_with_a_message() -> None:
    from traceability.exporter.devtools.embedded_pg import free_port

    settings = Settings.resolve(db_url=f"postgresql://u:secret@127.0.0.1:{free_port()}/none", run_deriver=True,
                                deriver_interval_s=0.05)  # fmt: skip
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost" + API_PREFIX
        ) as c,
    ):
        r = await c.get("/health")
        assert r.status_code == 503
        body = r.json()
        assert (body["success"], body["status"], body["components"]["database"]) == (
            False,
            "degraded",
            "unavailable",
        )
        assert body["error"].startswith("database unavailable at postgresql://u:***@127.0.0.1:")
        assert "secret" not in r.text
        for method, path, payload in (
            ("POST", "/lineage/track", {"event_type": "pattern_created", "pattern_id": "x"}),
            ("GET", "/lineage/x", None),
            ("GET", "/lineage/x/evolution", None),
            ("GET", "/stats", None),
            ("GET", "/patterns", None),
            ("GET", f"/traces/{uuid.uuid4()}", None),
        ):
            r = await c.request(method, path, json=payload)
            assert r.status_code == 503, path
            assert r.json()["success"] is False and r.json()["error"].startswith("database unavailable"), path
        r = await c.get("/health")
        assert r.json()["components"]["pattern_deriver"]["last_error"].startswith("DatabaseUnavailable")


async def test_openapi_documents_the_lineage_routes(api_settings: Settings) -> None:
    app = create_app(api_settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as c:
        spec = (await c.get("/openapi.json")).json()
        docs = await c.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = {p.removeprefix(API_PREFIX) for p in spec["paths"]}
    assert {
        "/health",
        "/lineage/track",
        "/lineage/track/batch",
        "/lineage/{pattern_id}",
        "/lineage/{pattern_id}/evolution",
        "/stats",
        "/patterns",
        "/traces/{correlation_id}",
        "/traces/{correlation_id}/spans/{span_id}",
    } <= paths
    track_body = spec["paths"][API_PREFIX + "/lineage/track"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    assert track_body["schema"]["$ref"].endswith("/LineageTrackRequest")
    event_types = spec["components"]["schemas"]["EventType"]["enum"]
    assert event_types == [
        "pattern_created",
        "pattern_modified",
        "pattern_merged",
        "pattern_applied",
        "pattern_deprecated",
        "pattern_forked",
    ]
