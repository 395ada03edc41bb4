"""A session state file is read typed (hooks/state.py): a corrupt one is reset with a log line."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.hooks import HookEnv
from traceability.hooks.state import STATE_VERSION, CorruptState, new_state, session_key, typed_state
from traceability.hooks.state_sweep import STALE_AFTER_S
from traceability.instrumentation import semconv as sc

SESSION = "d0000000-0000-4000-8000-00000000d001"
TOOL = {"name": "Bash", "trace": 7, "span": 8, "parent": 9, "start": 10, "order": 2, "prompt_id": ""}
POST = {"session_id": SESSION, "hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_use_id": "toolu_1",
        "tool_input": {"command": "ls"}, "tool_response": {"stdout": "x"}}  # fmt: skip


def _state(**parts: Any) -> dict[str, Any]:
    return {**new_state(SESSION), **parts}


def test_a_well_formed_state_reads_as_is_and_a_missing_order_is_zero() -> None:
    tool = {k: v for k, v in TOOL.items() if k != "order"}
    state = typed_state(_state(tools={"toolu_1": tool}, agents={}))
    assert state["tools"]["toolu_1"] == {**TOOL, "order": 0}
    assert state["session"] is None and state["turn"] is None


@pytest.mark.parametrize(
    ("parts", "problem"),
    [
        ({"tools": "garbage"}, "tools is a str, not an object"),
        ({"agents": []}, "agents is a list, not an object"),
        ({"tools": {"toolu_1": {**TOOL, "span": "8"}}}, "tools['toolu_1'].span is '8', not an integer"),
        ({"tools": {"toolu_1": {**TOOL, "trace": True}}}, "tools['toolu_1'].trace is True, not an integer"),
        ({"turn": {"prompt_id": 3, "trace": 1, "start": 2, "order": 0}}, "turn.prompt_id is 3, not a string"),
        ({"session": {"trace": 1, "start": 2, "order": 0, "resumes": "x"}}, "session.resumes is 'x', not an integer"),
    ],
)  # fmt: skip
def test_a_state_without_the_shape_is_corrupt(parts: dict[str, Any], problem: str) -> None:
    with pytest.raises(CorruptState) as raised:
        typed_state(_state(**parts))
    assert str(raised.value) == problem


def test_the_hook_resets_a_corrupt_state_file_logs_why_and_still_records_the_event(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    directory = hook.state / "sessions"
    directory.mkdir(parents=True)
    path = directory / f"{session_key(SESSION)}.json"
    path.write_text(json.dumps({"v": STATE_VERSION, "session_id": SESSION, "tools": "garbage", "agents": {}}))
    hook.replay([POST])
    log = (hook.logs / "quality_enforcer.log").read_text()
    assert f"session {SESSION}: state reset (tools is a str, not an object)" in log
    assert "WARNING" in log
    spans = hook.spans()
    assert sorted(s.name for s in spans) == ["execute_tool Bash", "hook PostToolUse"]
    (tool,) = [s for s in spans if s.name == "execute_tool Bash"]
    assert tool.attributes[sc.STATUS] == "completed"
    rewritten = json.loads(path.read_text())
    assert rewritten["tools"] == {} and rewritten["v"] == STATE_VERSION


def test_a_new_session_sweeps_state_files_untouched_for_a_week_and_only_those(tmp_path: Path) -> None:
    """hooks/state_sweep.py, run by SessionStart with source "startup" (a resumed session does not)."""
    hook = HookEnv(tmp_path)
    directory = hook.state / "sessions"
    directory.mkdir(parents=True)
    week_ago = time.time() - STALE_AFTER_S
    dead, alive = directory / "dead.json", directory / "alive.json"
    for path, mtime in ((dead, week_ago - 60), (alive, week_ago + 3600)):
        path.write_text("{}")
        os.utime(path, (mtime, mtime))
    start = {"session_id": SESSION, "hook_event_name": "SessionStart", "cwd": str(tmp_path)}
    hook.replay([{**start, "source": "resume"}])
    assert dead.exists() and alive.exists()
    hook.replay([{**start, "source": "startup"}])
    assert not dead.exists() and alive.exists()
    assert (directory / f"{session_key(SESSION)}.json").exists()
