"""The session-state side of one hook event: which session, turn, subagent and open tool it belongs to.

``Correlation`` holds one event and the state (typed: hooks/state_types.py) while the session lock
is held; hooks/events.py's handlers build on it. Spans it finishes go to ``spans``, built by
hooks/spans.py.

A Claude Code session's own trace is one per ``session_id``, across every process that runs it.

``claude -p``, then ``claude -p --resume <id>``, then ``--continue`` are three processes with one
``session_id``; each fires SessionStart (``source: resume`` when continuing) and SessionEnd. So:

- the session trace id is derived from the session id (``ids.session_trace_id``), and its root span
  id from that (``ids.turn_span_id``): every process, and every turn's root_id/parent_id, names the
  same root without having seen it;
- the session's part of the hook state (start, execution order, source, model) outlives SessionEnd,
  so a resumed process continues it; only the per-process parts (turn, tools, subagents) are reset;
- every SessionEnd emits the root ``claude_code.session`` again, from the session's first start to
  this end. The exporter keeps the emission that ends last (``exporter/storage/writer.py``), so the stored
  session covers all of its processes; a replay of an older one changes nothing.
"""

from __future__ import annotations

import posix

from traceability.hooks import payload, spans
from traceability.hooks.spans import Ids, as_text, random_span_id
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.ids import (
    format_trace_uuid,
    parse_trace_uuid,
    session_trace_id,
    turn_span_id,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    from traceability.hooks.settings import HookSettings
    from traceability.hooks.state_types import AgentState, HookState, SessionEntry, ToolState, TurnState
    from traceability.instrumentation.otlp_json import LeanSpan

    Container: TypeAlias = TurnState | SessionEntry  # what counts the execution order of a trace's spans
    # where this event's hook span goes: trace id, parent span id, order container, the trace's prompt
    Where: TypeAlias = tuple[int, int, Container, str]

AGENT_TOOLS = ("Agent", "Task")  # the subagent tool was renamed Task -> Agent (~Mar 2026)
STATE_INPUT_CHARS = 2048  # tool input kept in the state until its Post (for tools that get none)
SOURCE_RESUME = "resume"


def random_trace_id() -> int:
    return int.from_bytes(posix.urandom(16), "big") or 1


def session_entry(state: HookState, session_id: str, started_ns: int, random_trace: int) -> SessionEntry:
    """The session's state entry, created on first use; its trace id is the session id's.

    ``random_trace`` is used only without a session id. A state written by an older hook (random
    session trace id) is moved to the derived one.
    """
    session = state["session"]
    trace = session_trace_id(session_id) if session_id else random_trace
    if session is None:
        session = {"trace": trace, "start": started_ns, "order": 0}
        state["session"] = session
    elif session_id and session["trace"] != trace:
        session["trace"] = trace
    return session


def on_start(session: SessionEntry, event: dict[str, Any]) -> None:
    """SessionStart: keep the first-seen source/model/cwd; count the processes that resumed it."""
    for key in ("source", "model", "cwd"):
        value = event.get(key)
        if isinstance(value, str) and not session.get(key):
            session[key] = value  # one of SessionEntry's str keys
    if event.get("source") == SOURCE_RESUME:
        session["resumes"] = session.get("resumes", 0) + 1


def end_process(state: HookState) -> None:
    """SessionEnd: this process is done with its turn, tools and subagents; the session goes on."""
    state["turn"] = None
    state["tools"] = {}
    state["agents"] = {}


class Correlation:
    """One event's view of the session state: the lookups and updates its handler (hooks/events.py)
    shares, and the spans finished so far."""

    def __init__(self, event: dict[str, Any], settings: HookSettings, started_ns: int) -> None:
        self.event = event
        self.settings = settings
        self.started_ns = started_ns
        self.event_name = as_text(event.get("hook_event_name")) or "Unknown"
        self.session_id = as_text(event.get("session_id"))
        self.prompt_id = as_text(event.get("prompt_id"))
        self.agent_id = as_text(event.get("agent_id"))
        self.agent_type = as_text(event.get("agent_type"))
        self.tool_name = as_text(event.get("tool_name"))
        self.tool_use_id = as_text(event.get("tool_use_id"))
        self.ids = Ids(self.session_id, settings.user_id, self.prompt_id)
        self.spans: list[LeanSpan] = []
        self.hook_span: LeanSpan | None = None
        self.state: HookState  # set by EventSpans.apply
        self.tool_key = ""  # the state key of this PreToolUse's tool (for the enforcer's results)

    # --- state helpers ------------------------------------------------------------------------

    def _session(self) -> SessionEntry:
        return session_entry(self.state, self.session_id, self.started_ns, random_trace_id())

    def _next_order(self, container: Container) -> int:
        container["order"] += 1
        return container["order"]

    def _find_turn(self) -> TurnState | None:
        """The turn this event belongs to: the one of its prompt id, else (no prompt id) the open one."""
        turn = self.state["turn"]
        if turn is None:
            return None
        if self.prompt_id:
            return turn if turn["prompt_id"] == self.prompt_id else None
        return None if turn.get("closed") else turn

    def _ensure_turn(self) -> TurnState:
        """The turn this event belongs to; a new one (an open other turn ends abandoned) when none matches."""
        found = self._find_turn()
        if found is not None:
            return found
        self._abandon_open_turn()
        trace_id = parse_trace_uuid(self.prompt_id) or random_trace_id()
        turn: TurnState = {
            "prompt_id": self.prompt_id,
            "trace": trace_id,
            "start": self.started_ns,
            "order": 0,
        }
        self.state["turn"] = turn
        self._session()
        return turn

    def _abandon_open_turn(self) -> None:
        turn = self.state["turn"]
        if turn is not None and not turn.get("closed"):
            self._close_turn(turn, turn.get("last") or turn["start"], sc.TRACE_STATUS_ABANDONED)

    def _trace_of(self, turn: TurnState | None) -> Where:
        """Where a turn's spans go (its root as the parent), or the session's when ``turn`` is None."""
        if turn is None:
            session = self._session()
            return session["trace"], turn_span_id(session["trace"]), session, ""
        return turn["trace"], turn_span_id(turn["trace"]), turn, turn["prompt_id"]

    def _json(self, value: Any, max_json: int = 0) -> str:
        return payload.json_attr(
            value, self.settings.max_string_chars, max_json or self.settings.max_json_chars
        )

    # --- finished spans -----------------------------------------------------------------------

    def _tool_span(self, tool_use_id: str, tool: ToolState, end_ns: int, status: str, **extra: Any) -> None:
        self.spans.append(spans.tool_span(tool_use_id, tool, end_ns, status, self.ids, self._json, extra))

    def _close_turn(self, turn: TurnState, end_ns: int, status: str, error_type: str = "") -> None:
        """Emit the turn's root span; its main-thread tools still open are closed first."""
        trace_id = turn["trace"]
        tool_status = sc.STATUS_ABANDONED if status == sc.TRACE_STATUS_ABANDONED else sc.STATUS_BLOCKED
        reason = (
            "the turn ended before the tool ran" if tool_status == sc.STATUS_BLOCKED else "turn abandoned"
        )
        tools = self.state["tools"]
        for tool_use_id, tool in list(tools.items()):
            if tool["trace"] == trace_id and not tool.get("agent"):
                self._tool_span(tool_use_id, tool, end_ns, tool_status,
                                **{sc.ERROR_MESSAGE: reason, sc.ERROR_TYPE: tool_status})  # fmt: skip
                del tools[tool_use_id]
        session = self._session()
        self.spans.append(
            spans.turn_span(
                turn,
                session,
                format_trace_uuid(session["trace"]),
                end_ns,
                status,
                error_type,
                self.ids,
                self._json,
            )
        )
        turn["closed"] = True

    # --- tools and agents -------------------------------------------------------------------

    def _find_agent(self) -> AgentState | None:
        """The state entry of the subagent this event runs in, if it is known."""
        return self.state["agents"].get(self.agent_id) if self.agent_id else None

    def _ensure_agent(self, turn: TurnState) -> AgentState | None:
        """The subagent this event runs in (created when first seen); None outside a subagent."""
        if not self.agent_id:
            return None
        agent = self._find_agent()
        if agent is not None:
            return agent
        trace_id, parent, container, prompt_id = self._trace_of(turn)
        tool_use_id = ""
        spawner = self._spawning_tool(trace_id)
        if spawner is not None:
            tool_use_id, tool = spawner
            parent = tool["span"]
            tool["spawned"] = self.agent_id
        agent = {
            "trace": trace_id, "span": random_span_id(), "parent": parent, "start": self.started_ns,
            "type": self.agent_type, "tool": tool_use_id, "order": self._next_order(container),
            "prompt_id": prompt_id,
        }  # fmt: skip
        self.state["agents"][self.agent_id] = agent
        return agent

    def _spawning_tool(self, trace_id: int) -> tuple[str, ToolState] | None:
        """The open Agent/Task tool that most likely spawned this subagent: one not yet linked, of the
        same subagent type if any, oldest first (parallel spawns start in tool order)."""
        candidates = [
            (t["order"], k, t) for k, t in self.state["tools"].items()
            if t["name"] in AGENT_TOOLS and not t.get("spawned") and t["trace"] == trace_id
        ]  # fmt: skip
        if not candidates:
            return None
        candidates.sort(key=lambda c: c[0])
        typed = [c for c in candidates if c[2].get("subagent_type") == self.agent_type]
        _, key, tool = (typed or candidates)[0]
        return key, tool

    def _open_tool(self, turn: TurnState, tool_input: Any, start_ns: int) -> ToolState:
        trace_id, root_span, container, prompt_id = self._trace_of(turn)
        agent = self._ensure_agent(turn)
        tool: ToolState = {
            "name": self.tool_name, "trace": trace_id, "span": random_span_id(),
            "parent": agent["span"] if agent is not None else root_span, "start": start_ns,
            "order": self._next_order(container), "prompt_id": prompt_id,
        }  # fmt: skip
        if self.agent_id:
            tool["agent"] = self.agent_id
            if self.agent_type:
                tool["agent_type"] = self.agent_type
        path = payload.file_path_of(tool_input)
        if path:
            tool["file"] = path
        if tool_input is not None:
            tool["input"] = self._json(tool_input, STATE_INPUT_CHARS)
        code = self._code_attrs(self.tool_name, tool_input, None, applied=False)
        if code:  # what it tries to write: on its span whatever the outcome (failed, blocked, ...)
            tool["code"] = code
        if self.tool_name in AGENT_TOOLS and isinstance(tool_input, dict):
            tool["subagent_type"] = as_text(tool_input.get("subagent_type"))
        turn["tool_uses"] = turn.get("tool_uses", 0) + 1
        return tool

    def _code_attrs(self, tool_name: str, tool_input: Any, response: Any, applied: bool) -> dict[str, Any]:
        if tool_name not in sc.CODE_TOOLS:
            return {}
        code = payload.resulting_code(tool_name, tool_input, response, applied, self.settings.max_code_bytes)
        if code is None:
            return {}
        return payload.code_attributes(code, payload.file_path_of(tool_input), self.settings.max_code_bytes)

    def _find_open_tool(self) -> tuple[str, ToolState] | None:
        tools = self.state["tools"]
        if self.tool_use_id:
            tool = tools.get(self.tool_use_id)
            return (self.tool_use_id, tool) if tool is not None else None
        # no tool_use_id (Claude Code before ~Nov 2025): the oldest open call of this tool in this context
        matches = [
            (t["order"], k, t) for k, t in tools.items()
            if t["name"] == self.tool_name and t.get("agent", "") == self.agent_id
        ]  # fmt: skip
        if not matches:
            return None
        matches.sort(key=lambda m: m[0])
        return matches[0][1], matches[0][2]

    def _touch(self, turn: TurnState) -> None:
        turn["last"] = self.started_ns
        mode, cwd = self.event.get("permission_mode"), self.event.get("cwd")
        if mode:
            turn["permission_mode"] = mode
        if cwd:
            turn["cwd"] = cwd

    def _in_turn(self, create: bool) -> Where:
        """Context of a turn-level event: its turn (or the session), under its subagent if any."""
        turn = self._ensure_turn() if create else self._find_turn()
        if turn is not None:
            self._touch(turn)
        trace_id, parent, container, prompt_id = self._trace_of(turn)
        agent = self._find_agent()
        if agent is not None and agent["trace"] == trace_id:
            parent = agent["span"]
        return trace_id, parent, container, prompt_id

    def _in_touched_turn(self) -> tuple[TurnState, Where]:
        """The event's turn (a new one when none matches), touched, and where its spans go."""
        turn = self._ensure_turn()
        self._touch(turn)
        return turn, self._trace_of(turn)

    def _cover(self, turn: TurnState, start_ns: int) -> None:
        """A span back-dated by Claude Code's duration_ms never starts before its parents: the turn
        (and the subagent it ran in) start no later than it."""
        turn["start"] = min(turn["start"], start_ns)
        agent = self._find_agent()
        if agent is not None:
            agent["start"] = min(agent["start"], start_ns)

    def _relink_agent(self, agent_id: str, tool_use_id: str, tool: ToolState) -> None:
        """The response names the subagent this tool ran: fix a guessed link while it is still open."""
        agent = self.state["agents"].get(agent_id) if agent_id else None
        if agent is not None and agent["tool"] != tool_use_id:
            agent["tool"] = tool_use_id
            agent["parent"] = tool["span"]
