"""A recorded session through the real hook, drained by the collector's spool drainer into PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from tests.support.hooks import HookEnv, load_sequence
from traceability.collector.drainer import SpoolDrainer
from traceability.exporter.storage.database import LazyPool
from traceability.exporter.storage.writer import SpanWriter


async def test_recorded_session_drained_gives_the_expected_rows(
    db_dsn: str, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    events = load_sequence("v2.1.270_s01_S01_startup_tools.jsonl")
    hook = HookEnv(tmp_path)
    hook.replay(events)
    spans = hook.spans()
    copies = {p.name: p.read_bytes() for p in hook.spool.glob("*.json")}
    collector_pool = LazyPool(db_dsn, min_size=1, max_size=2)  # the pool the collector service uses
    drainer = SpoolDrainer(str(hook.spool), SpanWriter(collector_pool))

    async def drain() -> None:
        while await drainer.drain_once():
            pass

    try:
        await drain()
    finally:
        await collector_pool.close()
    assert not list(hook.spool.glob("*.json")), "drained files are removed"
    assert drainer.stats.spans_rejected == 0
    assert drainer.stats.spans_written == len(spans) == 53

    session_id = uuid.UUID(events[0]["session_id"])
    prompt = "23d7f57d-6e63-45f1-9217-c7395a4c98a9"
    traces = {r["source"]: r for r in await db_pool.fetch("SELECT * FROM execution_traces")}
    assert set(traces) == {"claude-code", "claude-code-session"}
    turn, session = traces["claude-code"], traces["claude-code-session"]
    assert turn["correlation_id"] == uuid.UUID(prompt) and turn["prompt_id"] == prompt
    assert turn["session_id"] == session_id == session["session_id"]
    assert turn["status"] == "completed" and turn["success"] is True and turn["root_received"] is True
    assert turn["root_id"] == session["id"] == turn["parent_id"]
    assert turn["span_name"] == "claude_code.turn" and turn["service_name"] == "claude-code-hooks"
    assert turn["context"]["tool_uses"] == 10
    assert turn["prompt_text"] is None
    assert session["status"] == "completed" and session["root_received"] is True

    rows = await db_pool.fetch("SELECT * FROM hook_executions ORDER BY trace_id, execution_order")
    assert len(rows) == len(spans) - 2  # every span but the two roots
    by_trace: dict[uuid.UUID, list[int]] = {}
    for row in rows:
        by_trace.setdefault(row["trace_id"], []).append(row["execution_order"])
    for orders in by_trace.values():
        assert len(orders) == len(set(orders))
    assert {row["trace_id"] for row in rows if row["hook_type"] == "SessionStart"} == {session["id"]}
    hooks = [r for r in rows if r["span_type"] == "hook"]
    assert sorted(r["hook_type"] for r in hooks) == sorted(e["hook_event_name"] for e in events)
    assert all(r["session_id"] == events[0]["session_id"] and r["status"] == "completed" for r in hooks)

    tools = {r["tool_use_id"]: r for r in rows if r["span_type"] == "tool"}
    assert len(tools) == 10
    bash = tools["toolu_015R8tPjv7FUHuW6MDJj8HpT"]
    assert (bash["hook_type"], bash["tool_name"], bash["status"], bash["success"]) == (
        "tool",
        "Bash",
        "completed",
        True,
    )
    assert bash["tool_duration_ms"] == 49.0 and bash["prompt_id"] == prompt
    assert bash["input_data"] == {"command": "echo hello", "description": "Echo hello"}
    assert bash["output_data"]["stdout"] == "hello"
    failed = tools["toolu_013bWZG1PyuhUirXuYdNpLV5"]
    assert (failed["status"], failed["success"], failed["error_message"]) == ("failed", False, "Exit code 1")
    assert failed["error_type"] == "tool_error"
    write = tools["toolu_013E4vsBBVkXHaWmdbr55arF"]
    write_input = next(e for e in events if e.get("tool_use_id") == "toolu_013E4vsBBVkXHaWmdbr55arF")[
        "tool_input"
    ]
    assert (write["status"], write["success"]) == ("blocked", False)
    assert write["file_path"] == write_input["file_path"]
    assert write["attributes"]["traceability.code.content"] == write_input["content"]
    inner = tools["toolu_01J7Hz4JQN7aKxM639k1RP4M"]
    assert inner["agent_id"] == "a7154de3fc719065c"
    (subagent,) = [r for r in rows if r["span_type"] == "subagent"]
    assert inner["parent_span_id"] == subagent["span_id"]
    assert subagent["parent_span_id"] == tools["toolu_01UyNmiq2fWehP4Jooar3YS7"]["span_id"]
    assert subagent["hook_name"] == "invoke_agent general-purpose"

    assert turn["prompt_id"] == prompt  # a column of its own, so not repeated in attributes
    assert "prompt.id" not in turn["attributes"]
    assert not list(hook.spool.glob("rejected/*"))

    # the same spool files drained again (at-least-once delivery) change nothing
    for name, data in copies.items():
        (hook.spool / name).write_bytes(data)
    try:
        await drain()
    finally:
        await collector_pool.close()
    assert await db_pool.fetchval("SELECT count(*) FROM hook_executions") == len(rows)
    again = {r["source"]: r for r in await db_pool.fetch("SELECT * FROM execution_traces")}
    assert {k: dict(v) for k, v in again.items()} == {k: dict(v) for k, v in traces.items()}
