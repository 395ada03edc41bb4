"""The shapes of the hook's per-session state (hooks/state.py), for the type checker only.

Imported under ``if TYPE_CHECKING:`` everywhere (the hook never loads ``typing`` on its telemetry
path); hooks/state.py checks a loaded file against these shapes, so the code that uses the
state reads typed values without coercing them.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class SessionEntry(TypedDict):
    """The session's own trace: outlives SessionEnd (a resumed process continues it)."""

    trace: int
    start: int
    order: int  # execution order of the session trace's spans
    source: NotRequired[str]
    model: NotRequired[str]
    cwd: NotRequired[str]
    resumes: NotRequired[int]


class TurnState(TypedDict):
    """The prompt turn in progress (or the last one, ``closed``)."""

    prompt_id: str
    trace: int
    start: int
    order: int
    last: NotRequired[int]  # the latest event's time: the end of a turn closed as abandoned
    closed: NotRequired[bool]
    permission_mode: NotRequired[str]
    cwd: NotRequired[str]
    tool_uses: NotRequired[int]
    prompt_text: NotRequired[str]
    prompt_length: NotRequired[int]


class ToolState(TypedDict):
    """An open tool call, keyed by its tool_use_id (or ``_pre-...`` without one)."""

    name: str
    trace: int
    span: int
    parent: int
    start: int
    order: int
    prompt_id: str
    agent: NotRequired[str]
    agent_type: NotRequired[str]
    file: NotRequired[str]
    input: NotRequired[str]  # JSON, cut to STATE_INPUT_CHARS
    code: NotRequired[dict[str, Any]]  # traceability.code.* of what it tries to write
    subagent_type: NotRequired[str]
    spawned: NotRequired[str]  # the subagent an Agent/Task call started
    permission: NotRequired[bool]
    quality: NotRequired[dict[str, Any]]  # the enforcer's summary


class AgentState(TypedDict):
    """A running subagent, keyed by its agent_id."""

    trace: int
    span: int
    parent: int
    start: int
    order: int
    type: str
    tool: str  # the tool_use_id of the Agent/Task call that spawned it ("" when unknown)
    prompt_id: str


class HookState(TypedDict):
    v: int
    session_id: str
    session: SessionEntry | None
    turn: TurnState | None
    tools: dict[str, ToolState]
    agents: dict[str, AgentState]
