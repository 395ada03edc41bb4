"""Whole recorded Claude Code sessions through the real hook process: one trace per turn, the tree."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.support.hooks import SEQUENCES, HookEnv, SpanView, load_sequence
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.ids import session_trace_id, turn_span_id


def _by_trace(spans: list[SpanView]) -> dict[str, list[SpanView]]:
    traces: dict[str, list[SpanView]] = defaultdict(list)
    for span in spans:
        traces[span.trace_id].append(span)
    return traces


def _check_tree(spans: list[SpanView], open_sessions: set[str]) -> None:
    """Every trace has exactly one root (a turn, or a session that ended), every parent is in its trace."""
    for trace_id, members in _by_trace(spans).items():
        roots = [s for s in members if not s.parent_span_id]
        root_id = f"{turn_span_id(int(trace_id, 16)):016x}"
        if not roots:  # the session trace of a session that has not ended: its root comes at SessionEnd
            assert {s.attributes[sc.SESSION_ID] for s in members} <= open_sessions
            assert {s.parent_span_id for s in members if s.attributes[sc.HOOK_TYPE] == "SessionStart"} == {
                root_id
            }
            continue
        assert len(roots) == 1, (trace_id, [(s.name, s.span_id) for s in roots])
        root = roots[0]
        assert root.name in (sc.SPAN_NAME_TURN, sc.SPAN_NAME_SESSION)
        assert root.span_id == root_id
        ids = {s.span_id for s in members}
        assert len(ids) == len(members), "a span id repeats"
        for span in members:
            assert not span.parent_span_id or span.parent_span_id in ids, (span.name, span.attributes)
            assert span.start <= span.end
        orders = [s.attributes[sc.EXECUTION_ORDER] for s in members if s is not root]
        assert len(orders) == len(set(orders)), f"execution_order repeats in {root.name}: {sorted(orders)}"


@pytest.mark.parametrize("name", sorted(p.name for p in SEQUENCES.glob("*.jsonl")))
def test_every_recorded_session_gives_one_trace_per_turn_and_a_complete_tree(
    name: str, tmp_path: Path
) -> None:
    events = load_sequence(name)
    hook = HookEnv(tmp_path)
    hook.replay(events)
    spans = hook.spans()
    hooks = [s for s in spans if s.attributes.get(sc.SPAN_TYPE) == sc.SPAN_TYPE_HOOK]
    # one hook span per event, each naming its event
    assert Counter(s.attributes[sc.HOOK_TYPE] for s in hooks) == Counter(e["hook_event_name"] for e in events)
    ended = {e["session_id"] for e in events if e["hook_event_name"] == "SessionEnd"}
    _check_tree(spans, {e["session_id"] for e in events} - ended)
    prompts = {e["prompt_id"] for e in events if e["hook_event_name"] == "UserPromptSubmit"}
    turns = [s for s in spans if s.name == sc.SPAN_NAME_TURN]
    assert {uuid.UUID(s.trace_id) for s in turns} == {uuid.UUID(p) for p in prompts}
    assert len(turns) == len(prompts)
    # every tool call is one span, keyed by its tool_use_id
    called = {e["tool_use_id"] for e in events if e["hook_event_name"] == "PreToolUse"}
    tools = [s for s in spans if s.name.startswith("execute_tool ")]
    assert sorted(s.attributes[sc.GEN_AI_TOOL_CALL_ID] for s in tools) == sorted(called)
    # sessions that ended have a closed session root
    assert {s.attributes[sc.SESSION_ID] for s in spans if s.name == sc.SPAN_NAME_SESSION} == ended
    for span in spans:
        assert span.resource[sc.SERVICE_NAME] == "claude-code-hooks"
        assert span.attributes[sc.SESSION_ID] in {e["session_id"] for e in events}


def test_startup_tools_session_tree_and_attributes(tmp_path: Path) -> None:
    events = load_sequence("v2.1.270_s01_S01_startup_tools.jsonl")
    hook = HookEnv(tmp_path)
    hook.replay(events)
    spans = hook.spans()
    prompt = "23d7f57d-6e63-45f1-9217-c7395a4c98a9"
    turn_trace = uuid.UUID(prompt).hex
    by_call = {
        s.attributes.get(sc.GEN_AI_TOOL_CALL_ID): s for s in spans if s.name.startswith("execute_tool ")
    }
    (turn,) = [s for s in spans if s.name == sc.SPAN_NAME_TURN]
    (session,) = [s for s in spans if s.name == sc.SPAN_NAME_SESSION]
    assert turn.trace_id == turn_trace
    assert turn.attributes[sc.PROMPT_ID] == prompt
    assert turn.attributes[sc.TRACE_STATUS] == "completed" and turn.attributes[sc.SUCCESS] is True
    assert turn.attributes[sc.ROOT_ID] == str(uuid.UUID(session.trace_id))
    assert turn.attributes[sc.PARENT_ID] == str(uuid.UUID(session.trace_id))
    assert sc.PROMPT_TEXT not in turn.attributes  # capture_prompts is off by default
    assert turn.json_attr(sc.CONTEXT)["tool_uses"] == 10  # 9 in the main thread, 1 in the subagent

    ok = by_call["toolu_015R8tPjv7FUHuW6MDJj8HpT"]
    assert ok.name == "execute_tool Bash" and ok.parent_span_id == turn.span_id
    assert ok.attributes[sc.STATUS] == "completed" and ok.attributes[sc.SUCCESS] is True
    assert ok.attributes[sc.DURATION_MS] == 49.0
    assert ok.attributes[sc.GEN_AI_OPERATION_NAME] == "execute_tool"
    assert ok.json_attr(sc.INPUT_DATA) == {"command": "echo hello", "description": "Echo hello"}
    assert ok.json_attr(sc.OUTPUT_DATA)["stdout"] == "hello"

    failed = by_call["toolu_013bWZG1PyuhUirXuYdNpLV5"]
    assert failed.attributes[sc.STATUS] == "failed" and failed.attributes[sc.SUCCESS] is False
    assert failed.attributes[sc.ERROR_MESSAGE] == "Exit code 1"
    assert failed.attributes[sc.ERROR_TYPE] == "tool_error"
    assert failed.status_code == 2 and failed.attributes[sc.DURATION_MS] == 10.0
    assert by_call["toolu_015PGr45dd1pTHmMSM9qUvqX"].attributes[sc.STATUS] == "failed"

    # the Write was never approved (headless): closed as blocked by PostToolBatch, with its code
    write = by_call["toolu_013E4vsBBVkXHaWmdbr55arF"]
    write_input = next(e for e in events if e.get("tool_use_id") == "toolu_013E4vsBBVkXHaWmdbr55arF")[
        "tool_input"
    ]
    assert write.attributes[sc.STATUS] == "blocked" and write.attributes[sc.TOOL_BLOCKED] is True
    assert write.attributes[sc.CODE_FILE_PATH] == write_input["file_path"]
    assert write.attributes[sc.CODE_CONTENT] == write_input["content"]
    assert write.attributes[sc.CODE_LANGUAGE] == "text"
    assert write.attributes[sc.ERROR_MESSAGE] == (  # the permission prompt's own text, from the batch
        f"Claude requested permissions to write to {write_input['file_path']}, but you haven't granted it yet."
    )
    assert write.json_attr(sc.METADATA) == {"permission_requested": True}

    # the Agent tool spawned a subagent whose Bash call nests under it
    agent_tool = by_call["toolu_01UyNmiq2fWehP4Jooar3YS7"]
    (subagent,) = [s for s in spans if s.attributes.get(sc.SPAN_TYPE) == sc.SPAN_TYPE_SUBAGENT]
    inner = by_call["toolu_01J7Hz4JQN7aKxM639k1RP4M"]
    assert agent_tool.name == "execute_tool Agent" and agent_tool.parent_span_id == turn.span_id
    assert subagent.name == "invoke_agent general-purpose"
    assert subagent.parent_span_id == agent_tool.span_id
    assert subagent.attributes[sc.GEN_AI_AGENT_ID] == "a7154de3fc719065c"
    assert subagent.attributes[sc.GEN_AI_TOOL_CALL_ID] == "toolu_01UyNmiq2fWehP4Jooar3YS7"
    assert inner.parent_span_id == subagent.span_id
    assert inner.attributes[sc.GEN_AI_AGENT_ID] == "a7154de3fc719065c"
    assert agent_tool.start <= subagent.start <= inner.start <= inner.end <= subagent.end <= agent_tool.end

    # hook spans hang under what they belong to
    hooks = {(s.attributes[sc.HOOK_TYPE], s.attributes.get(sc.GEN_AI_TOOL_CALL_ID)): s for s in spans if s.attributes.get(sc.SPAN_TYPE) == "hook"}  # fmt: skip
    assert hooks[("PreToolUse", "toolu_015R8tPjv7FUHuW6MDJj8HpT")].parent_span_id == ok.span_id
    assert hooks[("PostToolUse", "toolu_015R8tPjv7FUHuW6MDJj8HpT")].parent_span_id == ok.span_id
    assert hooks[("SubagentStart", None)].parent_span_id == subagent.span_id
    assert hooks[("Stop", None)].parent_span_id == turn.span_id
    for event in ("SessionStart", "InstructionsLoaded", "SessionEnd"):
        assert hooks[(event, None)].trace_id == session.trace_id
        assert hooks[(event, None)].parent_span_id == session.span_id
    assert hooks[("TaskCreated", None)].trace_id == turn_trace
    stop_input = hooks[("Stop", None)].json_attr(sc.INPUT_DATA)
    assert stop_input["stop_hook_active"] is False
    assert stop_input["last_assistant_message"].startswith("[not captured:")
    # the turn spans from the prompt to the Stop hook
    assert turn.start == hooks[("UserPromptSubmit", None)].start
    assert turn.end == hooks[("Stop", None)].end


def test_abandoned_turn_is_closed_at_the_next_prompt(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    hook.replay(load_sequence("v2.1.270_i01_I01_interactive.jsonl"))
    spans = hook.spans()
    turns = {s.attributes[sc.PROMPT_ID]: s for s in spans if s.name == sc.SPAN_NAME_TURN}
    first = turns["190ccd82-3a5c-48e4-b9e2-3d288b7fbd37"]
    second = turns["5509caee-21b7-463a-9276-d8ae39794110"]
    assert first.attributes[sc.TRACE_STATUS] == "abandoned" and first.attributes[sc.SUCCESS] is False
    assert first.status_code == 2
    assert second.attributes[sc.TRACE_STATUS] == "completed"
    (write,) = [s for s in spans if s.name == "execute_tool Write"]
    assert write.trace_id == first.trace_id and write.attributes[sc.STATUS] == "abandoned"
    assert first.end <= second.start
    # Notification during the first turn belongs to it; the /add-dir command (no prompt) to the session
    notes = [s for s in spans if s.attributes.get(sc.HOOK_TYPE) == "Notification"]
    assert {n.trace_id for n in notes} == {first.trace_id, second.trace_id}
    (added,) = [s for s in spans if s.attributes.get(sc.HOOK_TYPE) == "DirectoryAdded"]
    assert added.parent_span_id == turn_span_id_hex(added.trace_id)
    assert added.trace_id == f"{session_trace_id('1dda4143-3fdf-40ef-b167-252c1abd1e15'):032x}"
    # the prompt id it carried names no turn of this trace: kept aside, not as the span's prompt.id
    assert sc.PROMPT_ID not in added.attributes
    assert added.json_attr(sc.METADATA)["event_prompt_id"] == "cfa5fa22-e087-4fa8-ba98-df48e4975351"
    assert {s.attributes[sc.SESSION_ID] for s in spans if s.name == sc.SPAN_NAME_SESSION} == {
        "1dda4143-3fdf-40ef-b167-252c1abd1e15",
        "a51d4a06-747f-4aaa-856e-3d451e9c9841",
    }


def turn_span_id_hex(trace_hex: str) -> str:
    return f"{turn_span_id(int(trace_hex, 16)):016x}"


def test_stop_failure_fails_the_turn(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    hook.replay(load_sequence("v2.1.270_s08_S08_mock_http429.jsonl"))
    (turn,) = [s for s in hook.spans() if s.name == sc.SPAN_NAME_TURN]
    assert turn.attributes[sc.TRACE_STATUS] == "failed" and turn.attributes[sc.SUCCESS] is False
    assert turn.attributes[sc.ERROR_TYPE] == "rate_limit"
    assert turn.status_code == 2


def test_turn_without_stop_is_abandoned_at_session_end(tmp_path: Path) -> None:
    events = load_sequence("v2.1.270_s10_S10_effort_sonnet.jsonl")
    hook = HookEnv(tmp_path)
    hook.replay([e for e in events if e["hook_event_name"] != "Stop"])
    spans = hook.spans()
    (turn,) = [s for s in spans if s.name == sc.SPAN_NAME_TURN]
    assert turn.attributes[sc.TRACE_STATUS] == "abandoned"
    (bash,) = [s for s in spans if s.name == "execute_tool Bash"]
    assert bash.attributes[sc.STATUS] == "completed"  # it had its Post
    assert len([s for s in spans if s.name == sc.SPAN_NAME_SESSION]) == 1


def test_denied_tool_without_batch_is_closed_at_stop(tmp_path: Path) -> None:
    events = load_sequence("v2.1.270_s09b_S09_perm_dontAsk_write_outside.jsonl")
    hook = HookEnv(tmp_path)
    hook.replay([e for e in events if e["hook_event_name"] != "PostToolBatch"])
    (write,) = [s for s in hook.spans() if s.name == "execute_tool Write"]
    assert write.attributes[sc.STATUS] == "blocked" and write.attributes[sc.SUCCESS] is False
    # the code it tried to write, kept from its PreToolUse, is on the span for the deriver
    pre = next(e for e in events if e["hook_event_name"] == "PreToolUse" and e["tool_name"] == "Write")
    assert write.attributes[sc.CODE_CONTENT] == pre["tool_input"]["content"]


@pytest.mark.parametrize(
    ("tool", "tool_input", "code"),
    [
        ("Write", {"file_path": "/w/a.py", "content": "x = 1\n"}, "x = 1\n"),
        ("NotebookEdit", {"notebook_path": "/w/n.ipynb", "cell_id": "c1", "new_source": "y = 2"}, "y = 2"),
        ("Edit", {"file_path": "/w/missing.py", "old_string": "a", "new_string": "b = 3"}, "b = 3"),
    ],
)
def test_a_failed_code_tool_carries_the_code_it_tried_to_write(
    tool: str, tool_input: dict[str, str], code: str, tmp_path: Path
) -> None:
    base = {"session_id": str(uuid.uuid4()), "cwd": "/w", "prompt_id": str(uuid.uuid4())}
    call = {**base, "tool_name": tool, "tool_input": tool_input, "tool_use_id": "toolu_1"}
    hook = HookEnv(tmp_path)
    hook.replay([
        {**base, "hook_event_name": "UserPromptSubmit", "prompt": "go"},
        {**call, "hook_event_name": "PreToolUse"},
        {**call, "hook_event_name": "PostToolUseFailure", "error": "File has been modified since read"},
    ])  # fmt: skip
    (span,) = [s for s in hook.spans() if s.name == f"execute_tool {tool}"]
    assert (span.attributes[sc.STATUS], span.attributes[sc.SUCCESS]) == ("failed", False)
    assert span.attributes[sc.CODE_CONTENT] == code


def test_old_payloads_without_prompt_or_tool_use_ids_still_correlate(tmp_path: Path) -> None:
    base = {"session_id": "legacy-session", "transcript_path": "/t.jsonl", "cwd": "/w"}
    events: list[dict[str, Any]] = [
        {**base, "hook_event_name": "UserPromptSubmit", "prompt": "one"},
        {**base, "hook_event_name": "PreToolUse", "tool_name": "Read", "tool_input": {"file_path": "/w/a"}},
        {**base, "hook_event_name": "PostToolUse", "tool_name": "Read", "tool_input": {"file_path": "/w/a"},
         "tool_response": {"type": "text"}},
        {**base, "hook_event_name": "Stop", "stop_hook_active": False},
        {**base, "hook_event_name": "UserPromptSubmit", "prompt": "two"},
        {**base, "hook_event_name": "UserPromptSubmit", "prompt": "three"},
        {**base, "hook_event_name": "Stop", "stop_hook_active": False},
    ]  # fmt: skip
    hook = HookEnv(tmp_path)
    hook.replay(events)
    spans = hook.spans()
    turns = [s for s in spans if s.name == sc.SPAN_NAME_TURN]
    assert sorted(t.attributes[sc.TRACE_STATUS] for t in turns) == ["abandoned", "completed", "completed"]
    assert len({t.trace_id for t in turns}) == 3
    (read,) = [s for s in spans if s.name == "execute_tool Read"]
    assert read.attributes[sc.STATUS] == "completed" and sc.GEN_AI_TOOL_CALL_ID not in read.attributes
    first = next(t for t in turns if t.start <= read.start <= t.end)
    assert read.trace_id == first.trace_id and read.parent_span_id == first.span_id
    # the legacy session id is not a UUID: it still keys the state and lands on every span
    assert {s.attributes[sc.SESSION_ID] for s in spans} == {"legacy-session"}
    assert all(t.attributes[sc.PROMPT_LENGTH] in (3, 5) for t in turns)


def test_a_tool_back_dated_by_its_duration_starts_inside_its_turn(tmp_path: Path) -> None:
    """Hooks installed mid-turn: the first event is a PostToolUse 900 ms long, in a subagent."""
    base = {"session_id": str(uuid.uuid4()), "cwd": "/w", "prompt_id": str(uuid.uuid4())}
    agent = {**base, "agent_id": "a1", "agent_type": "Explore"}
    hook = HookEnv(tmp_path)
    hook.replay([
        {**agent, "hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_use_id": "toolu_1",
         "tool_input": {"command": "sleep 1"}, "tool_response": {"stdout": ""}, "duration_ms": 900},
        {**agent, "hook_event_name": "SubagentStop", "stop_hook_active": False},
        {**base, "hook_event_name": "Stop", "stop_hook_active": False},
    ])  # fmt: skip
    spans = {s.name: s for s in hook.spans() if not s.name.startswith("hook ")}
    tool, subagent, turn = spans["execute_tool Bash"], spans["invoke_agent Explore"], spans[sc.SPAN_NAME_TURN]
    assert tool.end - tool.start >= 900_000_000
    assert (tool.parent_span_id, subagent.parent_span_id) == (subagent.span_id, turn.span_id)
    assert turn.start <= subagent.start <= tool.start and tool.end <= subagent.end <= turn.end
