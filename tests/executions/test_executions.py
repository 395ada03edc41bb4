"""executions/logs and executions/summary: every filter, pagination, and the summary against Python's numbers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import numpy as np
import pytest

from traceability.instrumentation import semconv

T0 = datetime(2026, 3, 18, 10, tzinfo=UTC)


async def seed(db_pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """3 traces in 2 sessions, 30 hook executions of several hooks, tools and statuses."""
    rng = np.random.default_rng(3)
    hooks: list[dict[str, Any]] = []
    async with db_pool.acquire() as conn:
        for t in range(3):
            trace = uuid.uuid4()
            session = "sess-a" if t < 2 else "sess-b"
            await conn.execute(
                """INSERT INTO execution_traces (id, correlation_id, root_id, session_id, session_key, user_id,
                                                 source, started_at, status, root_received)
                   VALUES ($1, $1, $1, $2, $3, 'dev', 'claude_code', $4, $5, TRUE)""",
                trace,
                uuid.uuid5(uuid.NAMESPACE_URL, session),
                session,
                T0 + timedelta(minutes=10 * t),
                "completed" if t != 1 else "failed",
            )
            for i in range(10):
                hook_type = ["PreToolUse", "PostToolUse", "UserPromptSubmit"][i % 3]
                tool = None if hook_type == "UserPromptSubmit" else ["Write", "Edit", "Bash"][(i // 3) % 3]
                status = ["completed", "completed", "failed", "blocked"][int(rng.integers(4))]
                h = {
                    "id": uuid.uuid4(),
                    "trace_id": trace,
                    "session_id": session,
                    "hook_type": hook_type,
                    "hook_name": f"{hook_type.lower()}-hook",
                    "tool_name": tool,
                    "status": status,
                    "success": status == "completed",
                    "started_at": T0 + timedelta(minutes=10 * t, seconds=i * 7),
                    "duration_ms": int(rng.integers(1, 500)),
                    "tool_duration_ms": float(rng.integers(1, 900)) if tool else None,
                    "agent": "reviewer" if i == 4 else None,
                }
                hooks.append(h)
                await conn.execute(
                    """INSERT INTO hook_executions (id, trace_id, hook_type, hook_name, execution_order, tool_name,
                           started_at, duration_ms, status, span_id, span_name, session_id, success,
                           tool_duration_ms, attributes)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)""",
                    h["id"], trace, hook_type, h["hook_name"], i, tool, h["started_at"], h["duration_ms"], status,
                    uuid.uuid4().hex[:16], f"hook {hook_type}", session, h["success"], h["tool_duration_ms"],
                    {semconv.GEN_AI_AGENT_NAME: h["agent"]} if h["agent"] else {},
                )  # fmt: skip
    return hooks


async def logs(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    resp = await client.get("/executions/logs", params=params)
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()["data"]
    return data


@pytest.mark.parametrize(
    ("param", "pick"),
    [
        ("session_id", lambda h: h["session_id"] == "sess-a"),
        ("hook", lambda h: h["hook_type"] == "PreToolUse"),
        ("tool", lambda h: h["tool_name"] == "Edit"),
        ("status", lambda h: h["status"] == "failed"),
        ("agent_name", lambda h: h["agent"] == "reviewer"),
    ],
)
async def test_each_filter(client: httpx.AsyncClient, db_pool: asyncpg.Pool, param: str, pick: Any) -> None:
    hooks = await seed(db_pool)
    value = {
        "session_id": "sess-a",
        "hook": "PreToolUse",
        "tool": "Edit",
        "status": "failed",
        "agent_name": "reviewer",
    }
    data = await logs(client, **{param: value[param]}, limit=200)
    want = sorted((h for h in hooks if pick(h)), key=lambda h: (-h["started_at"].timestamp(), str(h["id"])))
    assert [row["id"] for row in data["logs"]] == [str(h["id"]) for h in want]
    assert data["total"] == len(want) and len(want) > 0


async def test_correlation_time_range_and_hook_name(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    hooks = await seed(db_pool)
    trace = hooks[12]["trace_id"]
    data = await logs(client, correlation_id=str(trace))
    assert {r["correlation_id"] for r in data["logs"]} == {str(trace)} and data["total"] == 10
    assert data["logs"][0]["otel_trace_id"] == trace.hex
    since, until = T0 + timedelta(minutes=5), T0 + timedelta(minutes=15)
    data = await logs(client, since=since.isoformat(), until=until.isoformat(), limit=200)
    assert data["total"] == sum(since <= h["started_at"] < until for h in hooks) == 10
    data = await logs(client, hook="posttooluse-hook")
    assert data["total"] == sum(h["hook_name"] == "posttooluse-hook" for h in hooks)


async def test_pagination(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    hooks = await seed(db_pool)
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = await logs(client, limit=7, offset=offset)
        assert page["total"] == len(hooks) and len(page["logs"]) <= 7
        seen += [r["id"] for r in page["logs"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == len(hooks)
    past = await logs(client, limit=7, offset=100)
    assert past["logs"] == [] and past["total"] == len(hooks) and past["next_offset"] is None


async def test_bad_parameters(client: httpx.AsyncClient) -> None:
    resp = await client.get("/executions/logs", params={"limit": 201})
    assert resp.status_code == 422 and "limit" in resp.json()["error"]
    resp = await client.get("/executions/logs", params={"correlation_id": "not-a-uuid"})
    assert resp.status_code == 422
    resp = await client.get("/executions/summary", params={"since": T0.isoformat(), "until": T0.isoformat()})
    assert resp.status_code == 400 and "must be before" in resp.json()["error"]


async def test_summary(client: httpx.AsyncClient, db_pool: asyncpg.Pool) -> None:
    hooks = await seed(db_pool)
    resp = await client.get("/executions/summary", params={"session_id": "sess-a"})
    assert resp.status_code == 200
    data = resp.json()["data"]
    rows = [h for h in hooks if h["session_id"] == "sess-a"]
    d = np.array([h["duration_ms"] for h in rows], dtype=float)
    assert data["total_executions"] == len(rows) and data["total_traces"] == 2
    assert data["successful_executions"] == sum(h["success"] for h in rows)
    assert data["success_rate"] == pytest.approx(sum(h["success"] for h in rows) / len(rows))
    assert data["duration_ms"]["avg"] == pytest.approx(d.mean())
    for p in (50, 95, 99):
        assert data["duration_ms"][f"p{p}"] == pytest.approx(np.percentile(d, p))
    statuses: dict[str, int] = {}
    for h in rows:
        statuses[h["status"]] = statuses.get(h["status"], 0) + 1
    assert data["by_status"] == statuses
    assert data["traces_by_status"] == {"completed": 1, "failed": 1}
    by_hook = {h["hook_type"]: h for h in data["by_hook"]}
    pre = [h for h in rows if h["hook_type"] == "PreToolUse"]
    assert by_hook["PreToolUse"]["executions"] == len(pre)
    assert by_hook["PreToolUse"]["failures"] == sum(not h["success"] for h in pre)
    by_tool = {t["tool_name"]: t for t in data["by_tool"]}
    write = np.array([h["tool_duration_ms"] for h in rows if h["tool_name"] == "Write"])
    assert by_tool["Write"]["avg_tool_duration_ms"] == pytest.approx(write.mean())
    assert by_tool["Write"]["p95_tool_duration_ms"] == pytest.approx(np.percentile(write, 95))
    empty = (await client.get("/executions/summary", params={"tool": "Nothing"})).json()["data"]
    assert empty["total_executions"] == 0 and empty["success_rate"] == 0.0 and empty["by_hook"] == []
