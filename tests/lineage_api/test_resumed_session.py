"""One Claude Code session over three processes (``claude -p``, ``--resume <id>``, ``--continue``), through
the real hook, the spool, the drainer and PostgreSQL: one session root that every turn points to.

Process 1 is a real recording of Claude Code 2.1.332 (tests/fixtures/claude-code-native/json/hooks.jsonl);
process 2 resumes it for one more prompt; process 3 is the recorded resumed-and-compacted session of
2.1.270 (sequences/v2.1.270_s05_S05_compact.jsonl) moved onto the same session id: it starts with
``source: resume`` and its SessionEnd carries the last turn's prompt id.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.support.drain import drain
from tests.support.hooks import HookEnv, load_sequence
from traceability.instrumentation.ids import session_trace_id

NATIVE = Path(__file__).resolve().parent.parent / "fixtures" / "claude-code-native" / "json" / "hooks.jsonl"
NOW_NS = 1_773_000_000_000_000_000  # the hook runs' fixed clock: one event a second from here
RECORDED_COMPACT_PROMPT = "4cd9a4b3-3847-487a-bdad-6d2317fe2948"


def three_processes() -> tuple[list[list[dict[str, Any]]], str, list[str]]:
    first = [json.loads(line) for line in NATIVE.read_text().splitlines() if line.strip()]
    session = first[0]["session_id"]
    prompt_1, prompt_2 = first[1]["prompt_id"], str(uuid.uuid4())
    keep = ("SessionStart", "UserPromptSubmit", "Stop", "SessionEnd")
    second = [
        {**e, "prompt_id": prompt_2} if "prompt_id" in e else dict(e)
        for e in first
        if e["hook_event_name"] in keep
    ]
    second[0]["source"] = "resume"
    third = []
    for event in load_sequence("v2.1.270_s05_S05_compact.jsonl"):
        event = {**event, "session_id": session}
        if event.get("prompt_id") == RECORDED_COMPACT_PROMPT:  # Claude Code names the session's last prompt
            event["prompt_id"] = prompt_2
        third.append(event)
    assert third[0]["source"] == "resume" and third[-1]["hook_event_name"] == "SessionEnd"
    return [first, second, third], session, [prompt_1, prompt_2]


async def test_a_resumed_session_has_one_root_that_every_turn_points_to(
    db_dsn: str, db_pool: asyncpg.Pool, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    processes, session, prompts = three_processes()
    hook = HookEnv(tmp_path)
    n = 0
    for events in processes:
        for event in events:
            hook.extra["TRACEABILITY_HOOK_NOW_NS"] = str(NOW_NS + n * 1_000_000_000)
            hook.replay([event])
            n += 1
        await drain(db_dsn, hook)  # the collector drains as the processes end

    session_root = uuid.UUID(int=session_trace_id(session))
    traces = await db_pool.fetch("SELECT * FROM execution_traces ORDER BY started_at")
    roots = [t for t in traces if t["source"] == "claude-code-session"]
    assert [t["id"] for t in roots] == [session_root]  # one session, not one per process
    (root,) = roots
    first_start = datetime.fromtimestamp(NOW_NS / 1e9, UTC)
    last_end = datetime.fromtimestamp((NOW_NS + (n - 1) * 1_000_000_000) / 1e9, UTC)
    assert root["started_at"] == first_start and last_end <= root["completed_at"]
    assert (root["completed_at"] - last_end).total_seconds() < 1  # the last SessionEnd's hook run
    assert root["duration_ms"] == round((root["completed_at"] - root["started_at"]).total_seconds() * 1000)
    assert root["context"]["source"] == "startup" and root["context"]["resumes"] == 2
    assert (root["status"], root["root_received"]) == ("completed", True)

    turns = [t for t in traces if t["source"] == "claude-code"]
    assert [t["prompt_id"] for t in turns] == prompts
    assert all(t["root_id"] == t["parent_id"] == session_root for t in turns)
    assert all(t["status"] == "completed" for t in turns)

    hooks = await db_pool.fetch(
        "SELECT trace_id, hook_type, execution_order FROM hook_executions WHERE span_type = 'hook'"
    )
    starts_and_ends = [h for h in hooks if h["hook_type"] in ("SessionStart", "SessionEnd")]
    assert len(starts_and_ends) == 7  # 3 starts, the compaction's start, 3 ends
    assert {h["trace_id"] for h in starts_and_ends} == {session_root}
    orders = [h["execution_order"] for h in hooks if h["trace_id"] == session_root]
    assert sorted(orders) == list(range(1, len(orders) + 1))  # counted on across the processes

    # item 7: every log row's prompt id is its trace's (none in the session trace)
    resp = await client.get("/executions/logs", params={"session_id": session, "limit": 200})
    assert resp.status_code == 200, resp.text
    logs = resp.json()["data"]["logs"]
    assert len(logs) == resp.json()["data"]["total"] == n + 3  # every hook run and the three tools
    for row in logs:
        expected = (
            None if row["correlation_id"] == str(session_root) else str(uuid.UUID(row["correlation_id"]))
        )
        assert row["prompt_id"] == expected, row
    assert {r["correlation_id"] for r in logs} == {str(session_root), *prompts}


async def test_session_root_emissions_merge_in_any_order(
    db_dsn: str, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The resumed process lost the hook state (another machine, or swept) and its spans are stored first:
    the session row still runs from the first process's start to the last one's end, and a replay of
    either changes nothing."""
    processes, session, _ = three_processes()
    hooks = [HookEnv(tmp_path / "one"), HookEnv(tmp_path / "two")]  # two hook states
    n = 0
    for hook, events in zip(hooks, processes[:2], strict=True):
        for event in events:
            hook.extra["TRACEABILITY_HOOK_NOW_NS"] = str(NOW_NS + n * 1_000_000_000)
            hook.replay([event])
            n += 1
    copies = [{p.name: p.read_bytes() for p in hook.spool.glob("*.json")} for hook in hooks]
    await drain(db_dsn, hooks[1])  # the later process first
    later = dict(
        await db_pool.fetchrow("SELECT * FROM execution_traces WHERE source = 'claude-code-session'")
    )
    await drain(db_dsn, hooks[0])
    row = dict(await db_pool.fetchrow("SELECT * FROM execution_traces WHERE source = 'claude-code-session'"))
    assert row["id"] == uuid.UUID(int=session_trace_id(session))
    assert later["started_at"] > row["started_at"] == datetime.fromtimestamp(NOW_NS / 1e9, UTC)
    assert row["completed_at"] == later["completed_at"]
    assert row["duration_ms"] == round((row["completed_at"] - row["started_at"]).total_seconds() * 1000)
    assert row["context"] == later["context"]  # the emission that ended last
    for hook, files in zip(hooks, copies, strict=True):  # replays
        for name, data in files.items():
            (hook.spool / name).write_bytes(data)
        await drain(db_dsn, hook)
    again = dict(
        await db_pool.fetchrow("SELECT * FROM execution_traces WHERE source = 'claude-code-session'")
    )
    assert again == row  # not even updated_at moved
