"""Hook payloads -> the real hook process -> spool -> the collector's drainer -> PostgreSQL -> the deriver.

Checks the contract between the hooks (code on the tool span) and the deriver end to end.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.support.drain import drain
from tests.support.hooks import HookEnv, load_sequence
from traceability.lineage_api.deriver.pipeline import PatternDeriver

V1 = "def greet(name):\n    return f'hello {name}'\n\n\ndef shout(text):\n    return text.upper()\n"
V2 = V1.replace("return text.upper()", "return text.upper() + '!'")


def session_events(tmp_path: Path) -> tuple[list[dict[str, Any]], Path]:
    project = tmp_path / "project"
    project.mkdir()
    target = project / "greetings.py"
    base = {
        "session_id": str(uuid.uuid4()),
        "transcript_path": str(tmp_path / "transcript.jsonl"),
        "cwd": str(project),
        "prompt_id": str(uuid.uuid4()),
        "permission_mode": "default",
    }
    write_in = {"file_path": str(target), "content": V1}
    edit_in = {
        "file_path": str(target),
        "old_string": "return text.upper()",
        "new_string": "return text.upper() + '!'",
    }
    return [
        {**base, "hook_event_name": "UserPromptSubmit", "prompt": "write greetings"},
        {**base, "hook_event_name": "PreToolUse", "tool_name": "Write", "tool_input": write_in, "tool_use_id": "toolu_w1"},
        {**base, "hook_event_name": "PostToolUse", "tool_name": "Write", "tool_input": write_in, "tool_use_id": "toolu_w1",
         "tool_response": {"type": "create", "filePath": str(target), "content": V1}, "duration_ms": 7},
        {**base, "hook_event_name": "PreToolUse", "tool_name": "Edit", "tool_input": edit_in, "tool_use_id": "toolu_e1"},
        {**base, "hook_event_name": "PostToolUse", "tool_name": "Edit", "tool_input": edit_in, "tool_use_id": "toolu_e1",
         "tool_response": {"filePath": str(target), "oldString": edit_in["old_string"], "newString": edit_in["new_string"],
                           "originalFile": V1}, "duration_ms": 11},
        {**base, "hook_event_name": "Stop", "stop_hook_active": False, "last_assistant_message": "done"},
    ], target  # fmt: skip


async def test_hooked_session_becomes_patterns_and_executions(
    db_dsn: str, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    events, target = session_events(tmp_path)
    hook = HookEnv(tmp_path / "hook")
    hook.root.mkdir()
    hook.config.write_text(  # the quality enforcer scores each write (warn mode: never blocks)
        "enforcement:\n  enabled: true\n  mode: warn\n  performance_budget_seconds: 20\n"
        "  intercept_tools: [Write, Edit, MultiEdit]\n"
    )
    for event in events:
        if event.get("hook_event_name") == "PreToolUse" and event["tool_name"] == "Write":
            hook.replay([event])
            target.write_text(V1)  # Claude Code writes the file between Pre and Post
        elif event.get("hook_event_name") == "PreToolUse" and event["tool_name"] == "Edit":
            hook.replay([event])
            target.write_text(V2)
        else:
            hook.replay([event])
    await drain(db_dsn, hook)
    result = await PatternDeriver().run(db_pool)
    assert (result.executions, result.failed) == (2, 0)

    nodes = await db_pool.fetch(
        "SELECT qualified_name, pattern_version, file_path, language, pattern_data->>'code' AS code "
        "FROM pattern_lineage_nodes ORDER BY created_at, qualified_name"
    )
    assert [(n["qualified_name"], n["pattern_version"]) for n in nodes] == [
        ("greet", "1.0.0"),
        ("shout", "1.0.0"),
        ("shout", "1.0.1"),
    ]
    assert {(n["file_path"], n["language"]) for n in nodes} == {(str(target), "python")}
    assert nodes[2]["code"] == "def shout(text):\n    return text.upper() + '!'"

    executions = await db_pool.fetch(
        """
        SELECT x.tool_use_id, n.qualified_name, n.pattern_version, x.duration_ms, x.success, x.blocked,
               x.quality_score, x.session_id, h.quality_score AS span_quality
        FROM pattern_executions x JOIN pattern_lineage_nodes n ON n.id = x.node_id
        JOIN hook_executions h ON h.id = x.hook_execution_id
        ORDER BY x.executed_at, n.qualified_name
        """
    )
    assert [
        (x["tool_use_id"], x["qualified_name"], x["pattern_version"], x["duration_ms"]) for x in executions
    ] == [
        ("toolu_w1", "greet", "1.0.0", 7.0),
        ("toolu_w1", "shout", "1.0.0", 7.0),
        ("toolu_e1", "greet", "1.0.0", 11.0),
        ("toolu_e1", "shout", "1.0.1", 11.0),
    ]
    assert all(x["success"] and not x["blocked"] for x in executions)
    assert all(x["session_id"] == events[0]["session_id"] for x in executions)
    scores = [x["quality_score"] for x in executions]
    assert all(isinstance(q, float) and 0 <= q <= 1 for q in scores), scores
    assert scores == [x["span_quality"] for x in executions]


async def test_recorded_blocked_write_is_a_blocked_execution(
    db_dsn: str, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    events = load_sequence("v2.1.270_s01_S01_startup_tools.jsonl")
    hook = HookEnv(tmp_path)
    hook.replay(events)
    await drain(db_dsn, hook)
    await PatternDeriver().run(db_pool)
    write = next(e for e in events if e.get("tool_name") == "Write" and e["hook_event_name"] == "PreToolUse")
    row = await db_pool.fetchrow(
        "SELECT x.success, x.blocked, x.file_path, x.session_id, n.pattern_data->>'code' AS code, n.language "
        "FROM pattern_executions x JOIN pattern_lineage_nodes n ON n.id = x.node_id WHERE x.tool_use_id = $1",
        write["tool_use_id"],
    )
    assert (row["success"], row["blocked"]) == (False, True)
    assert (row["file_path"], row["code"], row["language"]) == (
        write["tool_input"]["file_path"],
        write["tool_input"]["content"],
        "text",
    )
    assert row["session_id"] == write["session_id"]
    # the blocked write did not change the file: no location recorded for it
    assert await db_pool.fetchval("SELECT count(*) FROM pattern_locations") == 0


FUNCTION = "def area(width, height):\n    return width * height\n"
NOW_NS = 1_773_000_000_000_000_000  # a fixed "now" for the hook runs (2026-03-08), not the wall clock


async def test_failed_writes_are_failed_executions_of_the_pattern(
    db_dsn: str, db_pool: asyncpg.Pool, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """40 Writes of one function through the real hook, 10 ending in PostToolUseFailure: every attempt is
    an execution (the code it tried to write rides on its tool span from PreToolUse), 30 of 40 succeeded."""
    hook = HookEnv(tmp_path / "hook")
    hook.root.mkdir()
    target = tmp_path / "geometry.py"
    base = {"session_id": str(uuid.uuid4()), "cwd": str(tmp_path), "prompt_id": str(uuid.uuid4())}
    write_in = {"file_path": str(target), "content": FUNCTION}
    failed = set(range(3, 40, 4))  # 10 of 40
    events: list[dict[str, Any]] = [{**base, "hook_event_name": "UserPromptSubmit", "prompt": "area"}]
    for i in range(40):
        tool = {**base, "tool_name": "Write", "tool_input": write_in, "tool_use_id": f"toolu_{i:02d}"}
        events.append({**tool, "hook_event_name": "PreToolUse"})
        if i in failed:
            events.append(
                {**tool, "hook_event_name": "PostToolUseFailure", "error": "EACCES: permission denied"}
            )
        else:
            events.append({**tool, "hook_event_name": "PostToolUse", "duration_ms": 3,
                           "tool_response": {"type": "create", "filePath": str(target), "content": FUNCTION}})  # fmt: skip
    events.append({**base, "hook_event_name": "Stop", "stop_hook_active": False})
    for n, event in enumerate(events):
        hook.extra["TRACEABILITY_HOOK_NOW_NS"] = str(NOW_NS + n * 1_000_000_000)
        hook.replay([event])
    await drain(db_dsn, hook)
    assert (await PatternDeriver().run(db_pool)).failed == 0

    pattern_ids = await db_pool.fetch("SELECT DISTINCT pattern_id FROM pattern_executions")
    assert len(pattern_ids) == 1
    rows = await db_pool.fetch("SELECT tool_use_id, success, blocked FROM pattern_executions")
    assert sorted((r["tool_use_id"], r["success"]) for r in rows) == [
        (f"toolu_{i:02d}", i not in failed) for i in range(40)
    ]
    resp = await client.post(
        "/analytics/compute",
        json={"pattern_id": pattern_ids[0][0], "time_window_days": 7, "as_of": "2026-03-10T00:00:00+00:00"},
    )
    assert resp.status_code == 200, resp.text
    success = resp.json()["success_metrics"]
    assert resp.json()["usage_metrics"]["total_executions"] == 40
    assert (success["success_rate"], success["failed_executions"]) == (0.75, 10)
