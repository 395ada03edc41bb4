"""A small Claude Code session for the UI tests, through the real hook, drainer and deriver.

A session start, then two turns in one project: the first writes a module (one function) and runs a failing test; the
second edits the function (a second version of its pattern). The prompt is captured and carries
HTML/script, and the failing command's output carries an ``<img onerror>``: the pages must show
both as text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from tests.support.drain import drain
from tests.support.hooks import HookEnv
from traceability.lineage_api.deriver.pipeline import PatternDeriver

V1 = "def total(items):\n    return sum(items)\n"
V2 = "def total(items, start=0):\n    return start + sum(items)\n"
BRANCH = "feature/cart-totals"
REVISION = "4f2c9a1e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39"  # the branch's commit (a loose ref)
HOSTILE_PROMPT = 'Fix it <script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2">'
T0_NS = 1_795_262_400_000_000_000  # 2026-11-21 12:00 UTC: the hook's "now" for the first event
SECOND_NS = 1_000_000_000
HOSTILE_OUTPUT = '<img src=x onerror="window.__pwned = 3"> FAILED test_total'


@dataclass(frozen=True)
class Seeded:
    session_id: str
    turn_ids: tuple[str, ...]  # OTel trace ids (hex), in order
    write_tool_use_id: str
    edit_tool_use_id: str
    failed_tool_use_id: str
    target: Path


def _events(tmp_path: Path) -> tuple[list[list[dict[str, Any]]], Seeded]:
    project = tmp_path / "shop"
    (project / ".git").mkdir(parents=True)  # a git checkout on a branch: the hook records it (vcs.*)
    (project / ".git" / "HEAD").write_text(f"ref: refs/heads/{BRANCH}\n")
    (project / ".git" / "refs" / "heads" / BRANCH).parent.mkdir(parents=True)
    (project / ".git" / "refs" / "heads" / BRANCH).write_text(REVISION + "\n")
    target = project / "cart.py"
    session = str(uuid.uuid4())
    prompts = [str(uuid.uuid4()), str(uuid.uuid4())]

    def base(turn: int) -> dict[str, Any]:
        return {
            "session_id": session,
            "transcript_path": str(tmp_path / "transcript.jsonl"),
            "cwd": str(project),
            "prompt_id": prompts[turn],
            "permission_mode": "default",
        }

    write_in = {"file_path": str(target), "content": V1}
    bash_in = {"command": "pytest -q", "description": "run the tests"}
    edit_in = {"file_path": str(target), "old_string": V1, "new_string": V2}
    started = {k: v for k, v in base(0).items() if k != "prompt_id"}  # before any prompt: session events
    first = [
        {**started, "hook_event_name": "SessionStart", "source": "startup"},
        {**base(0), "hook_event_name": "UserPromptSubmit", "prompt": "write cart.py"},
        {
            **base(0),
            "hook_event_name": "PreToolUse",
            "tool_name": "Write",
            "tool_input": write_in,
            "tool_use_id": "toolu_ui_w1",
        },
        {
            **base(0),
            "hook_event_name": "PostToolUse",
            "tool_name": "Write",
            "tool_input": write_in,
            "tool_use_id": "toolu_ui_w1",
            "tool_response": {"type": "create", "filePath": str(target), "content": V1},
            "duration_ms": 9,
        },
        {
            **base(0),
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": bash_in,
            "tool_use_id": "toolu_ui_b1",
        },
        {
            **base(0),
            "hook_event_name": "PostToolUseFailure",
            "tool_name": "Bash",
            "tool_input": bash_in,
            "tool_use_id": "toolu_ui_b1",
            "error": HOSTILE_OUTPUT,
            "is_interrupt": False,
            "duration_ms": 412,
        },
        {**base(0), "hook_event_name": "Stop", "stop_hook_active": False, "last_assistant_message": "done"},
    ]
    second = [
        {**base(1), "hook_event_name": "UserPromptSubmit", "prompt": HOSTILE_PROMPT},
        {**base(1), "hook_event_name": "PreToolUse", "tool_name": "Edit", "tool_input": edit_in, "tool_use_id": "toolu_ui_e1"},
        {**base(1), "hook_event_name": "PostToolUse", "tool_name": "Edit", "tool_input": edit_in, "tool_use_id": "toolu_ui_e1",
         "tool_response": {"filePath": str(target), "oldString": V1, "newString": V2, "originalFile": V1}, "duration_ms": 14},
        {**base(1), "hook_event_name": "Stop", "stop_hook_active": False, "last_assistant_message": "done"},
    ]  # fmt: skip
    seeded = Seeded(
        session_id=session,
        turn_ids=tuple(uuid.UUID(p).hex for p in prompts),
        write_tool_use_id="toolu_ui_w1",
        edit_tool_use_id="toolu_ui_e1",
        failed_tool_use_id="toolu_ui_b1",
        target=target,
    )
    return [first, second], seeded


async def seed_session(db_dsn: str, db_pool: asyncpg.Pool, tmp_path: Path) -> Seeded:
    turns, seeded = _events(tmp_path)
    hook = HookEnv(tmp_path / "hook")
    hook.root.mkdir()
    hook.config.write_text("traceability:\n  capture_prompts: true\n")
    now = T0_NS
    for index, events in enumerate(turns):
        seeded.target.write_text(V1 if index == 0 else V2)
        for event in events:  # each hook run gets its own fixed "now", 3 s apart
            now += 3 * SECOND_NS
            hook.extra["TRACEABILITY_HOOK_NOW_NS"] = str(now)
            hook.replay([event])
    await drain(db_dsn, hook)
    await PatternDeriver().run(db_pool)
    return seeded
