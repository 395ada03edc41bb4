"""POST lineage/track and lineage/track/batch against the real database: bodies and error paths."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

TRACK = "/lineage/track"


def created(pattern_id: str, **extra: object) -> dict[str, object]:
    return {"event_type": "pattern_created", "pattern_id": pattern_id, **extra}


async def test_creation_returns_the_node_and_writes_node_event_in_one_go(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool
) -> None:
    r = await client.post(
        TRACK,
        json=created(
            "writer_v1",
            pattern_name="Async Writer",
            pattern_version="1.0.0",
            pattern_data={"template_code": "async def write(): ...", "framework": "asyncpg"},
            language="python",
            file_path="/repo/w.py",
            tool_name="Write",
            reason="first cut",
            triggered_by="claude_code",
        ),
    )
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    data = body["data"]
    assert data["status"] == "created"
    assert data["message"] is None
    assert data["operation"] == "track_creation"
    assert data["pattern_id"] == "writer_v1"
    assert data["pattern_name"] == "Async Writer"
    assert data["pattern_version"] == "1.0.0"
    assert data["node_id"] == data["pattern_node_id"]
    assert uuid.UUID(data["node_id"]).version == 7  # time-ordered: new rows append to the indexes
    assert data["generation"] == 1
    assert data["parent_node_ids"] == [] and data["edge_ids"] == []
    meta = body["metadata"]
    assert meta["operation"] == "track_creation" and meta["pattern_id"] == "writer_v1"
    uuid.UUID(meta["correlation_id"])
    assert meta["duration_ms"] > 0 and meta["processing_time_ms"] >= meta["duration_ms"]

    async with db_pool.acquire() as conn:
        node = await conn.fetchrow(
            "SELECT * FROM pattern_lineage_nodes WHERE id = $1", uuid.UUID(data["node_id"])
        )
        assert node["pattern_data"] == {"template_code": "async def write(): ...", "framework": "asyncpg"}
        assert (node["file_path"], node["tool_name"], node["language"], node["source_user"]) == (
            "/repo/w.py",
            "Write",
            "python",
            "claude_code",
        )
        assert str(node["lineage_id"]) == data["lineage_id"]
        assert str(node["correlation_id"]) == meta["correlation_id"]
        event = await conn.fetchrow(
            "SELECT * FROM pattern_lineage_events WHERE id = $1", uuid.UUID(data["event_id"])
        )
        assert (event["event_type"], event["pattern_id"], event["reason"], event["triggered_by"]) == (
            "pattern_created",
            "writer_v1",
            "first cut",
            "claude_code",
        )


async def test_duplicate_creation_is_already_exists(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    first = (await client.post(TRACK, json=created("dup"))).json()["data"]
    r = await client.post(TRACK, json=created("dup"))
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["status"] == "already_exists"
    assert data["message"] == "pattern 'dup' version '1.0.0' already exists"
    assert data["node_id"] == first["node_id"] and data["event_id"] is None
    async with db_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM pattern_lineage_nodes WHERE pattern_id = 'dup'") == 1
        assert (
            await conn.fetchval("SELECT count(*) FROM pattern_lineage_events WHERE pattern_id = 'dup'") == 1
        )


async def test_creation_with_parents_links_them(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    p1 = (await client.post(TRACK, json=created("p1"))).json()["data"]
    p2 = (await client.post(TRACK, json=created("p2"))).json()["data"]
    r = await client.post(
        TRACK,
        json=created(
            "child",
            parent_pattern_ids=["p1", "p2"],
            edge_type="inspired_by",
            transformation_type="optimization",
        ),
    )
    data = r.json()["data"]
    assert data["generation"] == 2
    assert data["lineage_id"] == p1["lineage_id"]
    assert data["parent_node_ids"] == [p1["node_id"], p2["node_id"]]
    assert len(data["edge_ids"]) == 2
    async with db_pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT source_node_id, edge_type, transformation_type FROM pattern_lineage_edges "
            "WHERE target_node_id = $1 ORDER BY created_at, source_node_id",
            uuid.UUID(data["node_id"]),
        )
        assert {(str(r["source_node_id"]), r["edge_type"], r["transformation_type"]) for r in rows} == {
            (p1["node_id"], "inspired_by", "optimization"),
            (p2["node_id"], "inspired_by", "optimization"),
        }
        event = await conn.fetchrow(
            "SELECT * FROM pattern_lineage_events WHERE id = $1", uuid.UUID(data["event_id"])
        )
        assert event["parent_pattern_ids"] == ["p1", "p2"]


async def test_unknown_parent_is_404_and_writes_nothing(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool
) -> None:
    await client.post(TRACK, json=created("known"))
    r = await client.post(TRACK, json=created("orphan", parent_pattern_ids=["known", "missing"]))
    assert r.status_code == 404
    body = r.json()
    assert body["success"] is False
    assert body["error"] == "parent pattern 'missing' not found"
    assert body["metadata"]["pattern_id"] == "missing"
    async with db_pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM pattern_lineage_nodes WHERE pattern_id = 'orphan'") == 0
        )


async def test_bad_enum_values_are_422_naming_the_allowed_values(client: httpx.AsyncClient) -> None:
    r = await client.post(TRACK, json={"event_type": "pattern_exploded", "pattern_id": "x"})
    assert r.status_code == 422
    error = r.json()["error"]
    for allowed in (
        "pattern_created",
        "pattern_modified",
        "pattern_merged",
        "pattern_applied",
        "pattern_deprecated",
        "pattern_forked",
    ):
        assert allowed in error
    assert error.startswith("invalid request: event_type:")

    r = await client.post(TRACK, json=created("x", edge_type="copied_from"))
    assert r.status_code == 422
    assert "edge_type" in r.json()["error"] and "'derived_from'" in r.json()["error"]
    r = await client.post(TRACK, json=created("x", transformation_type="magic"))
    assert r.status_code == 422
    assert "'simplification'" in r.json()["error"]
    r = await client.post(TRACK, json={"event_type": "pattern_created", "pattern_id": ""})
    assert r.status_code == 422 and "pattern_id" in r.json()["error"]


async def test_modification_fork_merge(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    base = (await client.post(TRACK, json=created("base", pattern_name="Base"))).json()["data"]
    mod = (
        await client.post(
            TRACK, json={"event_type": "pattern_modified", "pattern_id": "base", "pattern_version": "1.1.0"}
        )
    ).json()["data"]
    assert (mod["operation"], mod["pattern_version"], mod["generation"], mod["pattern_name"]) == (
        "track_modification",
        "1.1.0",
        2,
        "Base",
    )
    assert mod["parent_node_ids"] == [base["node_id"]] and mod["lineage_id"] == base["lineage_id"]

    fork = (
        await client.post(
            TRACK, json={"event_type": "pattern_forked", "pattern_id": "fork", "parent_pattern_ids": ["base"]}
        )
    ).json()["data"]
    assert fork["parent_node_ids"] == [mod["node_id"]] and fork["generation"] == 3

    merged = (
        await client.post(
            TRACK,
            json={
                "event_type": "pattern_merged",
                "pattern_id": "merged",
                "parent_pattern_ids": ["base", "fork"],
            },
        )
    ).json()["data"]
    assert merged["operation"] == "track_merge" and merged["generation"] == 4
    async with db_pool.acquire() as conn:
        edges = await conn.fetch(
            "SELECT e.edge_type, e.transformation_type, t.pattern_id FROM pattern_lineage_edges e "
            "JOIN pattern_lineage_nodes t ON t.id = e.target_node_id ORDER BY e.created_at, e.source_node_id"
        )
        assert sorted((e["pattern_id"], e["edge_type"], e["transformation_type"]) for e in edges) == [
            ("base", "modified_from", "refactor"),
            ("fork", "derived_from", "refactor"),
            ("merged", "merged_from", "merge"),
            ("merged", "merged_from", "merge"),
        ]


async def test_operation_errors(client: httpx.AsyncClient) -> None:
    r = await client.post(TRACK, json={"event_type": "pattern_modified", "pattern_id": "ghost"})
    assert (r.status_code, r.json()["error"]) == (404, "pattern 'ghost' not found")
    r = await client.post(TRACK, json={"event_type": "pattern_forked", "pattern_id": "f"})
    assert (r.status_code, r.json()["error"]) == (
        400,
        "pattern_forked needs parent_pattern_ids: the pattern it forks from",
    )
    r = await client.post(TRACK, json={"event_type": "pattern_merged", "pattern_id": "m"})
    assert (r.status_code, r.json()["error"]) == (
        400,
        "pattern_merged needs parent_pattern_ids: the patterns merged into this one",
    )
    r = await client.post(TRACK, json={"event_type": "pattern_applied", "pattern_id": "ghost"})
    assert (r.status_code, r.json()["error"]) == (404, "pattern 'ghost' not found")
    r = await client.post(TRACK, json={"event_type": "pattern_deprecated", "pattern_id": "ghost"})
    assert (r.status_code, r.json()["error"]) == (404, "pattern 'ghost' not found")


async def test_application_and_deprecation(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    await client.post(TRACK, json=created("lib"))
    v2 = (
        await client.post(
            TRACK, json={"event_type": "pattern_modified", "pattern_id": "lib", "pattern_version": "2.0.0"}
        )
    ).json()["data"]
    await client.post(TRACK, json=created("lib_next"))
    applied = (
        await client.post(
            TRACK,
            json={
                "event_type": "pattern_applied",
                "pattern_id": "lib",
                "file_path": "/x.py",
                "tool_name": "Edit",
            },
        )
    ).json()["data"]
    assert (applied["status"], applied["operation"], applied["node_id"]) == (
        "recorded",
        "track_application",
        v2["node_id"],
    )
    first = (
        await client.post(
            TRACK, json={"event_type": "pattern_applied", "pattern_id": "lib", "pattern_version": "2.0.0"}
        )
    ).json()["data"]
    assert first["node_id"] == v2["node_id"]
    r = await client.post(
        TRACK, json={"event_type": "pattern_applied", "pattern_id": "lib", "pattern_version": "7.0.0"}
    )
    assert (r.status_code, r.json()["error"]) == (404, "pattern 'lib' version '7.0.0' not found")

    dep = (
        await client.post(
            TRACK,
            json={
                "event_type": "pattern_deprecated",
                "pattern_id": "lib",
                "parent_pattern_ids": ["lib_next"],
                "reason": "superseded",
            },
        )
    ).json()["data"]
    assert (dep["status"], dep["operation"], len(dep["edge_ids"])) == ("recorded", "track_deprecation", 1)
    async with db_pool.acquire() as conn:
        assert set(
            await conn.fetch("SELECT DISTINCT status FROM pattern_lineage_nodes WHERE pattern_id = 'lib'")
        ) == {("deprecated",)}
        edge = await conn.fetchrow(
            "SELECT s.pattern_id AS s, t.pattern_id AS t, e.edge_type FROM pattern_lineage_edges e "
            "JOIN pattern_lineage_nodes s ON s.id = e.source_node_id JOIN pattern_lineage_nodes t ON t.id = e.target_node_id "
            "WHERE t.pattern_id = 'lib_next'"
        )
        assert tuple(edge) == ("lib", "lib_next", "replaced_by")
        event = await conn.fetchrow(
            "SELECT event_data, reason FROM pattern_lineage_events WHERE id = $1",
            uuid.UUID(applied["event_id"]),
        )
        assert event["event_data"] == {"file_path": "/x.py", "tool_name": "Edit"}
        assert (
            await conn.fetchval(
                "SELECT reason FROM pattern_lineage_events WHERE id = $1", uuid.UUID(dep["event_id"])
            )
            == "superseded"
        )


async def test_batch_sequential_keeps_good_events_and_reports_failures(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool
) -> None:
    r = await client.post(
        TRACK + "/batch",
        json={
            "batch_id": "b-1",
            "processing_mode": "sequential",
            "events": [
                created("b_root"),
                created("b_child", parent_pattern_ids=["b_root"]),
                created("b_bad", parent_pattern_ids=["nope"]),
                created("b_root"),
            ],
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is False
    assert body["batch_id"] == "b-1"
    assert body["batch_summary"] == {
        "total_events": 4,
        "successful_events": 3,
        "failed_events": 1,
        "handled_duplicates": 1,
        "processing_mode": "sequential",
        "requested_processing_mode": "sequential",
    }
    assert [s["event_index"] for s in body["successful_results"]] == [0, 1, 3]
    assert [s["pattern_id"] for s in body["successful_results"]] == ["b_root", "b_child", "b_root"]
    assert body["successful_results"][1]["data"]["generation"] == 2
    assert body["successful_results"][2]["data"]["status"] == "already_exists"
    [failed] = body["failed_results"]
    assert (failed["event_index"], failed["pattern_id"], failed["status_code"], failed["error"]) == (
        2,
        "b_bad",
        404,
        "parent pattern 'nope' not found",
    )
    meta = body["metadata"]
    # both are rounded from the same unrounded time, so they agree to the last rounding step
    assert meta["average_time_per_event"] == pytest.approx(meta["processing_time_ms"] / 4, abs=0.001)
    expected_gain = (4 * 50 - meta["processing_time_ms"]) / (4 * 50) * 100
    assert abs(meta["batch_efficiency_gain"] - expected_gain) < 0.01
    async with db_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM pattern_lineage_nodes") == 2


async def test_batch_parallel_and_validation(client: httpx.AsyncClient) -> None:
    r = await client.post(TRACK + "/batch", json={"events": [created(f"par_{i}") for i in range(8)]})
    body = r.json()
    assert body["success"] is True and body["failed_results"] is None
    assert body["batch_summary"]["processing_mode"] == "parallel"
    assert sorted(s["pattern_id"] for s in body["successful_results"]) == sorted(f"par_{i}" for i in range(8))
    r = await client.post(TRACK + "/batch", json={"events": [created("s")], "sequential_processing": True})
    assert r.json()["batch_summary"]["processing_mode"] == "sequential"
    assert r.json()["batch_summary"]["requested_processing_mode"] == "parallel"
    r = await client.post(TRACK + "/batch", json={"events": []})
    assert r.status_code == 422 and "events" in r.json()["error"]
    r = await client.post(TRACK + "/batch", json={"events": [created("x")], "processing_mode": "turbo"})
    assert r.status_code == 422 and "'parallel' or 'sequential'" in r.json()["error"]


async def test_domain_errors_get_their_status_alone_and_in_a_batch(client: httpx.AsyncClient) -> None:
    """The store's InvalidRequest and NotFound are 400 and 404, for one event and per event of a batch."""
    await client.post(TRACK, json={"event_type": "pattern_created", "pattern_id": "self"})
    own_parent = {"event_type": "pattern_deprecated", "pattern_id": "self", "parent_pattern_ids": ["self"]}
    r = await client.post(TRACK, json=own_parent)
    assert (r.status_code, r.json()["error"]) == (400, "pattern 'self' cannot be its own parent")
    r = await client.post(
        TRACK + "/batch",
        json={
            "processing_mode": "sequential",
            "events": [
                own_parent,
                {"event_type": "pattern_applied", "pattern_id": "ghost"},
                {"event_type": "pattern_created", "pattern_id": "fine"},
            ],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(f["event_index"], f["status_code"], f["error"]) for f in body["failed_results"]] == [
        (0, 400, "pattern 'self' cannot be its own parent"),
        (1, 404, "pattern 'ghost' not found"),
    ]
    assert [s["pattern_id"] for s in body["successful_results"]] == ["fine"]
