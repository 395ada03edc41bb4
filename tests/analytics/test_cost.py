"""analytics/compute's cost_metrics: the native cost and tokens of the turns a pattern's executions happened in.

Turns, their Claude Code events and the pattern executions are generated here; the expected sums
are computed from the same generated rows in Python.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import numpy as np
import pytest

from tests.support.analytics_data import add_node
from traceability.instrumentation import semconv as sc

AS_OF = datetime(2026, 3, 18, 14, 27, 31, 123456, tzinfo=UTC)
START = AS_OF - timedelta(days=7)  # the weekly window
MODELS = ["claude-opus-4", "claude-sonnet-4", "claude-haiku-4"]
TOKEN_KINDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")


async def add_turn(conn: asyncpg.Connection, i: int, native: bool) -> dict[str, Any]:
    turn_id = uuid.uuid4()
    turn = {"id": turn_id, "prompt_id": f"prompt-{i}", "native_trace_id": uuid.uuid4() if native else None}
    await conn.execute(
        """INSERT INTO execution_traces (id, correlation_id, root_id, session_id, source, prompt_id, started_at,
               completed_at, duration_ms, status, success, span_name, root_received, native_trace_id)
           VALUES ($1, $1, $1, $2, 'claude-code', $3, $4, $4, 1000, 'completed', TRUE, $5, TRUE, $6)""",
        turn_id,
        uuid.uuid4(),
        turn["prompt_id"],
        START + timedelta(hours=i),
        sc.SPAN_NAME_TURN,
        turn["native_trace_id"],
    )
    return turn


async def add_events(conn: asyncpg.Connection, rng: np.random.Generator, turn: dict[str, Any]) -> list[dict]:
    """A few api_request events (random tokens, cost, model), sometimes an api_error and a tool_decision."""
    events: list[dict[str, Any]] = []
    for _ in range(int(rng.integers(1, 5))):
        events.append(
            {
                "event_name": sc.CC_EVENT_API_REQUEST,
                "model": MODELS[int(rng.integers(len(MODELS)))],
                **{k: int(rng.integers(0, 5000)) for k in TOKEN_KINDS},
                "cost_usd": float(rng.uniform(0.0001, 0.05)),
            }
        )
    if rng.random() < 0.5:
        events.append({"event_name": sc.CC_EVENT_API_ERROR, "model": MODELS[0]})
    events.append({"event_name": sc.CC_EVENT_TOOL_DECISION})  # neither a call nor tokens
    for j, ev in enumerate(events):
        await conn.execute(
            """INSERT INTO claude_code_events (id, event_name, event_time, session_id, prompt_id, native_trace_id,
                   model, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cost_usd)
               VALUES ($1, $2, $3, 's', $4, $5, $6, $7, $8, $9, $10, $11)""",
            uuid.uuid4(),
            ev["event_name"],
            START + timedelta(minutes=j),
            turn["prompt_id"],
            turn["native_trace_id"],
            ev.get("model"),
            *(ev.get(k) for k in TOKEN_KINDS),
            ev.get("cost_usd"),
        )
    return events


async def add_executions(
    conn: asyncpg.Connection, node_id: uuid.UUID, pattern_id: str, turn: dict[str, Any], times: list[datetime]
) -> None:
    for t in times:
        await conn.execute(
            """INSERT INTO pattern_executions (id, node_id, pattern_id, tool_use_id, trace_id, executed_at,
                   success, blocked)
               VALUES ($1, $2, $3, $4, $5, $6, TRUE, FALSE)""",
            uuid.uuid4(),
            node_id,
            pattern_id,
            f"toolu_{uuid.uuid4().hex}",
            turn["id"],
            t,
        )


def expected(turns: list[dict[str, Any]], events: dict[uuid.UUID, list[dict]]) -> dict[str, Any]:
    calls = [
        ev for t in turns for ev in events.get(t["id"], []) if ev["event_name"] == sc.CC_EVENT_API_REQUEST
    ]
    return {
        "turns": len(turns),
        "turns_with_telemetry": sum(bool(events.get(t["id"])) for t in turns),
        "llm_calls": len(calls),
        "api_errors": sum(
            ev["event_name"] == sc.CC_EVENT_API_ERROR for t in turns for ev in events.get(t["id"], [])
        ),
        **{k: sum(ev[k] for ev in calls) for k in TOKEN_KINDS},
        "cost_usd": math.fsum(ev["cost_usd"] for ev in calls),
        "models": sorted({ev["model"] for ev in calls}),
    }


async def compute(client: httpx.AsyncClient, pattern_id: str) -> dict[str, Any]:
    resp = await client.post(
        "/analytics/compute",
        json={"pattern_id": pattern_id, "time_window_type": "weekly", "as_of": AS_OF.isoformat()},
    )
    assert resp.status_code == 200, resp.text
    cost: dict[str, Any] = resp.json()["cost_metrics"]
    return cost


async def test_cost_and_tokens_of_the_turns_a_pattern_was_written_in(
    client: httpx.AsyncClient, db_pool: asyncpg.Pool
) -> None:
    rng = np.random.default_rng(13)
    events: dict[uuid.UUID, list[dict]] = {}
    async with db_pool.acquire() as conn:
        v1, v2 = await add_node(conn, "pat", "1.0.0"), await add_node(conn, "pat", "1.1.0")
        quiet = await add_node(conn, "quiet")
        turns = [await add_turn(conn, i, native=i % 2 == 0) for i in range(40)]
        for turn in turns[:30]:  # the last ten turns have no native telemetry at all
            events[turn["id"]] = await add_events(conn, rng, turn)
        in_window, before = [], []
        for turn in turns[:34]:
            where = rng.random()
            node = v1 if rng.random() < 0.5 else v2
            if where < 0.7:  # one to three executions in the window: the turn counts once
                n = int(rng.integers(1, 4))
                times = [START + timedelta(seconds=float(s)) for s in rng.uniform(0, 7 * 86400, n)]
                await add_executions(conn, node, "pat", turn, times)
                in_window.append(turn)
            else:  # only before the window: not counted
                await add_executions(conn, node, "pat", turn, [START - timedelta(hours=1)])
                before.append(turn)
        quiet_turns = turns[30:]
        for turn in quiet_turns:
            await add_executions(conn, quiet, "quiet", turn, [AS_OF - timedelta(hours=2)])
    exp = expected(in_window, events)
    assert (
        exp["turns"] > 10 and before and exp["turns_with_telemetry"] < exp["turns"]
    )  # the data has each case
    cost = await compute(client, "pat")
    assert {k: v for k, v in cost.items() if k != "cost_usd"} == {
        k: v for k, v in exp.items() if k != "cost_usd"
    }
    assert cost["cost_usd"] == pytest.approx(exp["cost_usd"], rel=1e-12)
    # A pattern whose turns have no native telemetry: its turns are counted, everything else is zero.
    assert await compute(client, "quiet") == {
        **dict.fromkeys(exp, 0),
        "turns": len(quiet_turns),
        "cost_usd": 0.0,
        "models": [],
    }
