"""One hook event + the session's correlation state -> the spans it finishes, and its own hook span.

Trace model (docs/span-contract.md):

- a prompt turn is a trace; its id is Claude Code's ``prompt_id`` (a UUID) when present, else a random
  id kept in the session state. Its root span ``claude_code.turn`` (span id derived from the trace id,
  ``ids.turn_span_id``) is emitted at Stop/StopFailure with the start time of UserPromptSubmit; a turn
  whose Stop never came is closed as abandoned at the next prompt or at SessionEnd;
- a tool use is one ``execute_tool {tool}`` span (Pre -> Post/PostToolUseFailure by ``tool_use_id``);
  a tool with no Post (denied, blocked) is closed as blocked by PostToolBatch or Stop;
- a subagent is an ``invoke_agent {type}`` span under the Agent/Task tool span that spawned it; the
  subagent's tools nest under it;
- every hook run is a ``hook {event}`` span under the tool/subagent/turn it belongs to;
- events outside any turn (SessionStart, SessionEnd, ...) belong to the session's own trace, rooted by
  ``claude_code.session``; turns point to it with root_id/parent_id. One session trace per session id,
  across the processes of ``--resume``/``--continue`` (hooks/session.py);
- a span's ``prompt.id`` is the prompt of the trace it sits in: a session-trace span has none. The
  prompt id an event carried there (SessionEnd names the last turn's) is kept in its metadata as
  ``event_prompt_id``, so the correlation id and the prompt id of a row never disagree.
"""

from __future__ import annotations

import posix

from traceability.hooks import payload
from traceability.hooks import session as sessions
from traceability.hooks.git_context import git_context
from traceability.hooks.redact import redact_cut
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.code_tools import CODE_TOOLS
from traceability.instrumentation.ids import format_trace_uuid, parse_trace_uuid, turn_span_id
from traceability.instrumentation.otlp_json import STATUS_ERROR, LeanSpan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from traceability.hooks.settings import HookSettings

HOOK_NAME = "traceability-hook"
SOURCE_TURN = "claude-code"
TAGS = ("claude-code",)
AGENT_TOOLS = ("Agent", "Task")  # the subagent tool was renamed Task -> Agent (~Mar 2026)
STATE_INPUT_CHARS = 2048  # tool input kept in the state until its Post (for tools that get none)

SESSION_EVENTS = frozenset({"SessionStart", "SessionEnd"})
TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure"})
# Events that belong to a turn even when no UserPromptSubmit was seen for it (hooks installed mid-turn).
TURN_EVENTS = frozenset(
    {"UserPromptSubmit", "UserPromptExpansion", "PreToolUse", "PostToolUse", "PostToolUseFailure",
     "PermissionRequest", "PostToolBatch", "SubagentStart", "Stop", "StopFailure"}
)  # fmt: skip


def random_span_id() -> int:
    return int.from_bytes(posix.urandom(8), "big") or 1


def random_trace_id() -> int:
    return int.from_bytes(posix.urandom(16), "big") or 1


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


class EventSpans:
    """Applies one event to the session state (under the session lock) and collects finished spans.

    ``hook_span`` is this hook run's own span; its end time is set by the caller just before writing.
    """

    def __init__(self, event: dict[str, Any], settings: HookSettings, started_ns: int) -> None:
        self.event = event
        self.settings = settings
        self.started_ns = started_ns
        self.event_name = _str(event.get("hook_event_name")) or "Unknown"
        self.session_id = _str(event.get("session_id"))
        self.prompt_id = _str(event.get("prompt_id"))
        self.agent_id = _str(event.get("agent_id"))
        self.agent_type = _str(event.get("agent_type"))
        self.tool_name = _str(event.get("tool_name"))
        self.tool_use_id = _str(event.get("tool_use_id"))
        self.spans: list[LeanSpan] = []
        self.hook_span: LeanSpan | None = None
        self.state: dict[str, Any] = {}
        self.tool_key = ""  # the state key of this PreToolUse's tool (for the enforcer's results)

    # --- state helpers ------------------------------------------------------------------------

    def _session(self) -> dict[str, Any]:
        return sessions.session_entry(self.state, self.session_id, self.started_ns, random_trace_id())

    def _next_order(self, container: dict[str, Any]) -> int:
        container["order"] = int(container.get("order", 0)) + 1
        return int(container["order"])

    def _turn(self, create: bool) -> dict[str, Any] | None:
        """The turn this event belongs to; a new one when ``create`` and none matches."""
        turn = self.state.get("turn")
        if isinstance(turn, dict):
            if self.prompt_id:
                if turn.get("prompt_id") == self.prompt_id:
                    return turn
            elif not turn.get("closed"):
                return turn
        if not create:
            return None
        if isinstance(turn, dict) and not turn.get("closed"):
            self._close_turn(turn, int(turn.get("last") or turn["start"]), sc.TRACE_STATUS_ABANDONED)
        trace_id = parse_trace_uuid(self.prompt_id) or random_trace_id()
        turn = {"prompt_id": self.prompt_id, "trace": trace_id, "start": self.started_ns, "order": 0}
        self.state["turn"] = turn
        self._session()
        return turn

    def _trace_of(self, turn: dict[str, Any] | None) -> tuple[int, int, dict[str, Any]]:
        """(trace id, root span id, order container) of a turn, or of the session when ``turn`` is None."""
        container = turn if turn is not None else self._session()
        trace_id = int(container["trace"])
        return trace_id, turn_span_id(trace_id), container

    def _tools(self) -> dict[str, Any]:
        tools = self.state.setdefault("tools", {})
        return tools if isinstance(tools, dict) else self.state.setdefault("tools", {})

    def _agents(self) -> dict[str, Any]:
        agents = self.state.setdefault("agents", {})
        return agents if isinstance(agents, dict) else self.state.setdefault("agents", {})

    # --- common attributes ----------------------------------------------------------------------

    def _ids(self, attrs: dict[str, Any], prompt_id: str = "", exact: bool = False) -> dict[str, Any]:
        """Session, prompt and user ids; the prompt is ``prompt_id``, else (unless ``exact``) the event's."""
        if self.session_id:
            attrs[sc.SESSION_ID] = self.session_id
        prompt = prompt_id if exact else prompt_id or self.prompt_id
        if prompt:
            attrs[sc.PROMPT_ID] = prompt
        if self.settings.user_id:
            attrs[sc.USER_ID] = self.settings.user_id
        return attrs

    def _json(self, value: Any, max_json: int = 0) -> str:
        return payload.json_attr(
            value, self.settings.max_string_chars, max_json or self.settings.max_json_chars
        )

    # --- spans ---------------------------------------------------------------------------------

    def _tool_span(
        self, tool_use_id: str, tool: dict[str, Any], end_ns: int, status: str, **extra: Any
    ) -> None:
        """Emit the execute_tool span of an open tool (``tool`` is its state entry)."""
        name = _str(tool.get("name")) or "unknown"
        attrs: dict[str, Any] = {
            sc.SPAN_TYPE: sc.SPAN_TYPE_TOOL,
            sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL,
            sc.GEN_AI_TOOL_NAME: name,
            sc.OPENINFERENCE_SPAN_KIND: sc.OPENINFERENCE_KIND_TOOL,
        }
        if tool_use_id and not tool_use_id.startswith("_"):
            attrs[sc.GEN_AI_TOOL_CALL_ID] = tool_use_id
        self._ids(attrs, _str(tool.get("prompt_id")))
        if tool.get("agent"):
            attrs[sc.GEN_AI_AGENT_ID] = tool["agent"]
            if tool.get("agent_type"):
                attrs[sc.GEN_AI_AGENT_NAME] = tool["agent_type"]
        if tool.get("file"):
            attrs[sc.CODE_FILE_PATH] = tool["file"]
        attrs[sc.EXECUTION_ORDER] = int(tool.get("order", 0))
        attrs[sc.STATUS] = status
        attrs[sc.SUCCESS] = status == sc.STATUS_COMPLETED
        if status == sc.STATUS_BLOCKED:
            attrs[sc.TOOL_BLOCKED] = True
        quality = tool.get("quality")
        if isinstance(quality, dict):
            attrs[sc.QUALITY_PERFORMED] = True
            if isinstance(quality.get("score"), int | float):
                attrs[sc.QUALITY_SCORE] = float(quality["score"])
            if quality.get("decision"):
                attrs[sc.QUALITY_DECISION] = quality["decision"]
        attrs.update(extra)
        if sc.INPUT_DATA not in attrs and tool.get("input"):
            attrs[sc.INPUT_DATA] = tool["input"]
        if sc.CODE_CONTENT not in attrs and isinstance(tool.get("code"), dict):
            attrs.update(tool["code"])
        metadata = {"permission_requested": True} if tool.get("permission") else None
        if metadata:
            attrs[sc.METADATA] = self._json(metadata)
        message = _str(attrs.get(sc.ERROR_MESSAGE))
        self.spans.append(
            LeanSpan(
                int(tool["trace"]),
                int(tool["span"]),
                sc.execute_tool_span_name(name),
                int(tool["start"]),
                max(end_ns, int(tool["start"])),
                parent_span_id=int(tool["parent"]),
                attributes=attrs,
                status_code=STATUS_ERROR if status != sc.STATUS_COMPLETED else 0,
                status_message=message[:1024] if status != sc.STATUS_COMPLETED else "",
            )
        )

    def _agent_span(self, agent_id: str, agent: dict[str, Any], end_ns: int, status: str) -> None:
        agent_type = _str(agent.get("type"))
        attrs: dict[str, Any] = {
            sc.SPAN_TYPE: sc.SPAN_TYPE_SUBAGENT,
            sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT,
            sc.OPENINFERENCE_SPAN_KIND: sc.OPENINFERENCE_KIND_AGENT,
            sc.GEN_AI_AGENT_ID: agent_id,
        }
        if agent_type:
            attrs[sc.GEN_AI_AGENT_NAME] = agent_type
        self._ids(attrs, _str(agent.get("prompt_id")))
        if agent.get("tool"):
            attrs[sc.GEN_AI_TOOL_CALL_ID] = agent["tool"]
        attrs[sc.EXECUTION_ORDER] = int(agent.get("order", 0))
        attrs[sc.STATUS] = status
        attrs[sc.SUCCESS] = status == sc.STATUS_COMPLETED
        self.spans.append(
            LeanSpan(
                int(agent["trace"]),
                int(agent["span"]),
                f"{sc.SPAN_NAME_SUBAGENT_PREFIX} {agent_type or 'subagent'}",
                int(agent["start"]),
                max(end_ns, int(agent["start"])),
                parent_span_id=int(agent["parent"]),
                attributes=attrs,
                status_code=STATUS_ERROR if status != sc.STATUS_COMPLETED else 0,
                status_message=status if status != sc.STATUS_COMPLETED else "",
            )
        )

    def _close_turn(self, turn: dict[str, Any], end_ns: int, status: str, error_type: str = "") -> None:
        """Emit the turn's root span; its main-thread tools still open are closed first."""
        trace_id = int(turn["trace"])
        tool_status = sc.STATUS_ABANDONED if status == sc.TRACE_STATUS_ABANDONED else sc.STATUS_BLOCKED
        tools = self._tools()
        for tool_use_id, tool in list(tools.items()):
            if isinstance(tool, dict) and int(tool.get("trace", 0)) == trace_id and not tool.get("agent"):
                reason = (
                    "the turn ended before the tool ran"
                    if tool_status == sc.STATUS_BLOCKED
                    else "turn abandoned"
                )
                self._tool_span(
                    tool_use_id, tool, end_ns, tool_status,
                    **{sc.ERROR_MESSAGE: reason, sc.ERROR_TYPE: tool_status},
                )  # fmt: skip
                del tools[tool_use_id]
        session = self._session()
        session_uuid = format_trace_uuid(int(session["trace"]))
        attrs: dict[str, Any] = {sc.SPAN_TYPE: sc.SPAN_TYPE_TURN, sc.SOURCE: SOURCE_TURN}
        self._ids(attrs, _str(turn.get("prompt_id")))
        attrs[sc.OPENINFERENCE_SPAN_KIND] = sc.OPENINFERENCE_KIND_AGENT
        attrs[sc.EXECUTION_ORDER] = 0
        attrs[sc.ROOT_ID] = session_uuid
        attrs[sc.PARENT_ID] = session_uuid
        if turn.get("prompt_text") is not None:
            attrs[sc.PROMPT_TEXT] = turn["prompt_text"]
        if turn.get("prompt_length") is not None:
            attrs[sc.PROMPT_LENGTH] = int(turn["prompt_length"])
        attrs[sc.TAGS] = list(TAGS)
        context = {k: turn[k] for k in ("cwd", "permission_mode", "tool_uses") if turn.get(k) is not None}
        if session.get("model"):
            context["model"] = session["model"]
        attrs[sc.CONTEXT] = self._json(context)
        attrs[sc.TRACE_STATUS] = status
        attrs[sc.SUCCESS] = status == sc.TRACE_STATUS_COMPLETED
        message = ""
        if status == sc.TRACE_STATUS_ABANDONED:
            message = "the turn ended without a Stop event"
            attrs[sc.ERROR_TYPE] = "abandoned"
        elif status == sc.TRACE_STATUS_FAILED:
            message = f"the turn failed: {error_type or 'error'}"
            attrs[sc.ERROR_TYPE] = error_type or "error"
        start = int(turn["start"])
        self.spans.append(
            LeanSpan(
                trace_id,
                turn_span_id(trace_id),
                sc.SPAN_NAME_TURN,
                start,
                max(end_ns, start),
                attributes=attrs,
                status_code=STATUS_ERROR if message else 0,
                status_message=message,
            )
        )
        turn["closed"] = True

    # --- tools and agents -------------------------------------------------------------------

    def _agent(self, turn: dict[str, Any] | None, create: bool) -> tuple[str, dict[str, Any]] | None:
        """The state entry of the subagent this event runs in (created when first seen)."""
        if not self.agent_id:
            return None
        agents = self._agents()
        agent = agents.get(self.agent_id)
        if isinstance(agent, dict):
            return self.agent_id, agent
        if not create or turn is None:
            return None
        trace_id, root_span, container = self._trace_of(turn)
        parent, tool_use_id = root_span, ""
        spawner = self._spawning_tool(trace_id)
        if spawner is not None:
            tool_use_id, tool = spawner
            parent = int(tool["span"])
            tool["spawned"] = self.agent_id
        agent = {
            "trace": trace_id, "span": random_span_id(), "parent": parent, "start": self.started_ns,
            "type": self.agent_type, "tool": tool_use_id, "order": self._next_order(container),
            "prompt_id": _str(turn.get("prompt_id")),
        }  # fmt: skip
        agents[self.agent_id] = agent
        return self.agent_id, agent

    def _spawning_tool(self, trace_id: int) -> tuple[str, dict[str, Any]] | None:
        """The open Agent/Task tool that most likely spawned this subagent: one not yet linked, of the
        same subagent type if any, oldest first (parallel spawns start in tool order)."""
        candidates = [
            (int(t.get("order", 0)), k, t)
            for k, t in self._tools().items()
            if isinstance(t, dict) and t.get("name") in AGENT_TOOLS and not t.get("spawned")
            and int(t.get("trace", 0)) == trace_id
        ]  # fmt: skip
        if not candidates:
            return None
        candidates.sort(key=lambda c: c[0])
        typed = [c for c in candidates if c[2].get("subagent_type") == self.agent_type]
        _, key, tool = (typed or candidates)[0]
        return key, tool

    def _tool_parent(self, turn: dict[str, Any]) -> int:
        found = self._agent(turn, create=True)
        if found is not None:
            return int(found[1]["span"])
        return turn_span_id(int(turn["trace"]))

    def _open_tool(self, turn: dict[str, Any], tool_input: Any, start_ns: int) -> dict[str, Any]:
        trace_id, _, container = self._trace_of(turn)
        tool: dict[str, Any] = {
            "name": self.tool_name, "trace": trace_id, "span": random_span_id(),
            "parent": self._tool_parent(turn), "start": start_ns, "order": self._next_order(container),
            "prompt_id": _str(turn.get("prompt_id")),
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
            tool["subagent_type"] = _str(tool_input.get("subagent_type"))
        turn["tool_uses"] = int(turn.get("tool_uses", 0)) + 1
        return tool

    def _code_attrs(self, tool_name: str, tool_input: Any, response: Any, applied: bool) -> dict[str, Any]:
        if tool_name not in CODE_TOOLS:
            return {}
        code = payload.resulting_code(tool_name, tool_input, response, applied, self.settings.max_code_bytes)
        if code is None:
            return {}
        return payload.code_attributes(code, payload.file_path_of(tool_input), self.settings.max_code_bytes)

    # --- the event ------------------------------------------------------------------------------

    def apply(self, state: dict[str, Any]) -> None:
        """Update ``state`` for this event; finished spans go to ``self.spans``, and ``self.hook_span``
        is this run's span (end time still to be set)."""
        self.state = state
        name = self.event_name
        handler = getattr(self, "_on_" + name, None)
        trace_id, parent, container = handler() if handler is not None else self._on_generic()
        self._build_hook_span(trace_id, parent, container)

    def _touch(self, turn: dict[str, Any]) -> None:
        turn["last"] = self.started_ns
        if self.event.get("permission_mode"):
            turn["permission_mode"] = self.event["permission_mode"]
        if self.event.get("cwd"):
            turn["cwd"] = self.event["cwd"]

    def _in_turn(self, create: bool) -> tuple[int, int, dict[str, Any]]:
        """Context of a turn-level event: its turn (or the session), under its subagent if any."""
        turn = self._turn(create)
        if turn is not None:
            self._touch(turn)
        trace_id, parent, container = self._trace_of(turn)
        found = self._agent(turn, create=False)
        if found is not None and int(found[1]["trace"]) == trace_id:
            parent = int(found[1]["span"])
        return trace_id, parent, container

    def _on_generic(self) -> tuple[int, int, dict[str, Any]]:
        return self._in_turn(self.event_name in TURN_EVENTS)

    def _on_SessionStart(self) -> tuple[int, int, dict[str, Any]]:
        sessions.on_start(self._session(), self.event)
        return self._trace_of(None)

    def _on_SessionEnd(self) -> tuple[int, int, dict[str, Any]]:
        turn = self.state.get("turn")
        if isinstance(turn, dict) and not turn.get("closed"):
            self._close_turn(turn, int(turn.get("last") or turn["start"]), sc.TRACE_STATUS_ABANDONED)
        for tool_use_id, tool in list(self._tools().items()):
            if isinstance(tool, dict):
                self._tool_span(tool_use_id, tool, self.started_ns, sc.STATUS_ABANDONED,
                                **{sc.ERROR_MESSAGE: "session ended", sc.ERROR_TYPE: "abandoned"})  # fmt: skip
        for agent_id, agent in list(self._agents().items()):
            if isinstance(agent, dict):
                self._agent_span(agent_id, agent, self.started_ns, sc.STATUS_ABANDONED)
        sessions.end_process(self.state)
        self.spans.append(
            sessions.root_span(
                self._session(), self.session_id, self.settings.user_id, _str(self.event.get("reason")),
                self.started_ns, list(TAGS), self._json,
            )
        )  # fmt: skip
        return self._trace_of(None)

    def _on_UserPromptSubmit(self) -> tuple[int, int, dict[str, Any]]:
        turn = self.state.get("turn")
        if isinstance(turn, dict) and not turn.get("closed") and not self.prompt_id:
            # no prompt_id (Claude Code < 2.1.196): a new prompt while a turn is open ends that turn
            self._close_turn(turn, int(turn.get("last") or turn["start"]), sc.TRACE_STATUS_ABANDONED)
        turn = self._turn(create=True)
        assert turn is not None
        prompt = self.event.get("prompt")
        if isinstance(prompt, str):
            turn["prompt_length"] = len(prompt)
            if self.settings.capture_prompts:
                turn["prompt_text"] = redact_cut(prompt, self.settings.max_json_chars)
        self._touch(turn)
        return self._trace_of(turn)

    def _on_PreToolUse(self) -> tuple[int, int, dict[str, Any]]:
        turn = self._turn(create=True)
        assert turn is not None
        self._touch(turn)
        trace_id, _, container = self._trace_of(turn)
        tools = self._tools()
        key = self.tool_use_id or f"_pre-{self.started_ns}-{posix.getpid()}"
        tool = tools.get(key)
        if not isinstance(tool, dict):  # a second hook entry for the same call reuses the open span
            tool = self._open_tool(turn, self.event.get("tool_input"), self.started_ns)
            tools[key] = tool
        self.tool_key = key
        return trace_id, int(tool["span"]), container

    def _find_open_tool(self) -> tuple[str, dict[str, Any]] | None:
        tools = self._tools()
        if self.tool_use_id:
            tool = tools.get(self.tool_use_id)
            return (self.tool_use_id, tool) if isinstance(tool, dict) else None
        # no tool_use_id (Claude Code before ~Nov 2025): the oldest open call of this tool in this context
        matches = [
            (int(t.get("order", 0)), k, t) for k, t in tools.items()
            if isinstance(t, dict) and t.get("name") == self.tool_name and _str(t.get("agent")) == self.agent_id
        ]  # fmt: skip
        if not matches:
            return None
        matches.sort(key=lambda m: m[0])
        return matches[0][1], matches[0][2]

    def _on_PostToolUse(self) -> tuple[int, int, dict[str, Any]]:
        return self._post_tool(failed=False)

    def _on_PostToolUseFailure(self) -> tuple[int, int, dict[str, Any]]:
        return self._post_tool(failed=True)

    def _post_tool(self, failed: bool) -> tuple[int, int, dict[str, Any]]:
        turn = self._turn(create=True)
        assert turn is not None
        self._touch(turn)
        trace_id, _, container = self._trace_of(turn)
        raw_duration = self.event.get("duration_ms")
        duration: float | None = None
        if isinstance(raw_duration, int | float) and not isinstance(raw_duration, bool):
            duration = float(raw_duration)
        found = self._find_open_tool()
        tool_input = self.event.get("tool_input")
        if found is None:  # no PreToolUse seen: start the span when Claude Code says the tool started
            start = self.started_ns - int(duration * 1_000_000) if duration is not None else self.started_ns
            key, tool = self.tool_use_id, self._open_tool(turn, tool_input, start)
            self._cover(turn, start)
        else:
            key, tool = found
            del self._tools()[key]
        response = self.event.get("tool_response")
        extra: dict[str, Any] = {}
        if tool_input is not None:
            extra[sc.INPUT_DATA] = self._json(tool_input)
        if duration is not None:
            extra[sc.DURATION_MS] = duration
        if failed:
            error = payload.text_of(self.event.get("error"))
            extra[sc.ERROR_MESSAGE] = redact_cut(error, self.settings.max_string_chars)
            extra[sc.ERROR_TYPE] = "interrupted" if self.event.get("is_interrupt") is True else "tool_error"
            status = sc.STATUS_FAILED
        else:
            if response is not None:
                extra[sc.OUTPUT_DATA] = self._json(response)
            extra.update(self._code_attrs(_str(tool.get("name")), tool_input, response, applied=True))
            status = sc.STATUS_COMPLETED
        if _str(tool.get("name")) in AGENT_TOOLS and isinstance(response, dict):
            self._relink_agent(_str(response.get("agentId")), key, tool)
        self._tool_span(key, tool, self.started_ns, status, **extra)
        return trace_id, int(tool["span"]), container

    def _cover(self, turn: dict[str, Any], start_ns: int) -> None:
        """A span back-dated by Claude Code's duration_ms never starts before its parents: the turn
        (and the subagent it ran in) start no later than it."""
        turn["start"] = min(int(turn["start"]), start_ns)
        found = self._agent(turn, create=False)
        if found is not None:
            found[1]["start"] = min(int(found[1]["start"]), start_ns)

    def _relink_agent(self, agent_id: str, tool_use_id: str, tool: dict[str, Any]) -> None:
        """The response names the subagent this tool ran: fix a guessed link while it is still open."""
        agent = self._agents().get(agent_id) if agent_id else None
        if isinstance(agent, dict) and agent.get("tool") != tool_use_id:
            agent["tool"] = tool_use_id
            agent["parent"] = int(tool["span"])

    def _on_PermissionRequest(self) -> tuple[int, int, dict[str, Any]]:
        trace_id, parent, container = self._in_turn(create=True)
        found = self._find_open_tool()
        if found is not None and int(found[1].get("trace", 0)) == trace_id:
            found[1]["permission"] = True
            parent = int(found[1]["span"])
        return trace_id, parent, container

    def _on_PostToolBatch(self) -> tuple[int, int, dict[str, Any]]:
        trace_id, parent, container = self._in_turn(create=True)
        calls = self.event.get("tool_calls")
        tools = self._tools()
        for call in calls if isinstance(calls, list) else ():
            if not isinstance(call, dict):
                continue
            key = _str(call.get("tool_use_id"))
            tool = tools.get(key) if key else None
            if not isinstance(tool, dict):
                continue  # it had its Post (or was never seen)
            del tools[key]
            reason = payload.text_of(call.get("tool_response")) or "the tool call was not run"
            tool_input = call.get("tool_input")
            extra: dict[str, Any] = {
                sc.ERROR_MESSAGE: redact_cut(reason, self.settings.max_string_chars),
                sc.ERROR_TYPE: "blocked",
            }
            if tool_input is not None:
                extra[sc.INPUT_DATA] = self._json(tool_input)
            extra.update(self._code_attrs(_str(tool.get("name")), tool_input, None, applied=False))
            self._tool_span(key, tool, self.started_ns, sc.STATUS_BLOCKED, **extra)
        return trace_id, parent, container

    def _on_SubagentStart(self) -> tuple[int, int, dict[str, Any]]:
        turn = self._turn(create=True)
        assert turn is not None
        self._touch(turn)
        trace_id, parent, container = self._trace_of(turn)
        found = self._agent(turn, create=True)
        if found is not None:
            parent = int(found[1]["span"])
        return trace_id, parent, container

    def _on_SubagentStop(self) -> tuple[int, int, dict[str, Any]]:
        trace_id, parent, container = self._in_turn(create=False)
        agents = self._agents()
        agent = agents.get(self.agent_id) if self.agent_id else None
        if isinstance(agent, dict):
            del agents[self.agent_id]
            tools = self._tools()
            for tool_use_id, tool in list(tools.items()):
                if isinstance(tool, dict) and tool.get("agent") == self.agent_id:
                    self._tool_span(tool_use_id, tool, self.started_ns, sc.STATUS_BLOCKED,
                                    **{sc.ERROR_MESSAGE: "the subagent stopped before the tool ran",
                                       sc.ERROR_TYPE: "blocked"})  # fmt: skip
                    del tools[tool_use_id]
            self._agent_span(self.agent_id, agent, self.started_ns, sc.STATUS_COMPLETED)
            return int(agent["trace"]), int(agent["span"]), container
        return trace_id, parent, container

    def _on_Stop(self) -> tuple[int, int, dict[str, Any]]:
        return self._stop(sc.TRACE_STATUS_COMPLETED)

    def _on_StopFailure(self) -> tuple[int, int, dict[str, Any]]:
        error = redact_cut(payload.text_of(self.event.get("error")), self.settings.max_string_chars)
        return self._stop(sc.TRACE_STATUS_FAILED, error or "error")

    def _stop(self, status: str, error_type: str = "") -> tuple[int, int, dict[str, Any]]:
        turn = self._turn(create=True)
        assert turn is not None
        self._touch(turn)
        if not turn.get("closed"):
            self._close_turn(turn, self.started_ns, status, error_type)
        return self._trace_of(turn)

    # --- this run's own span ------------------------------------------------------------------

    def finish(self, end_ns: int) -> list[LeanSpan]:
        """End the hook span at ``end_ns``; a parent this event closed (the turn at Stop, the tool at
        its Post, ...) is stretched to cover it. Returns every span to write."""
        hook = self.hook_span
        if hook is None:
            return self.spans
        hook.end_time_unix_nano = max(end_ns, hook.start_time_unix_nano)
        for span in self.spans:
            if span.span_id == hook.parent_span_id and span.end_time_unix_nano == self.started_ns:
                span.end_time_unix_nano = hook.end_time_unix_nano
        return [*self.spans, hook]

    def _build_hook_span(self, trace_id: int, parent: int, container: dict[str, Any]) -> None:
        attrs: dict[str, Any] = {
            sc.SPAN_TYPE: sc.SPAN_TYPE_HOOK,
            sc.HOOK_TYPE: self.event_name,
            sc.HOOK_NAME: HOOK_NAME,
            sc.OPENINFERENCE_SPAN_KIND: sc.OPENINFERENCE_KIND_CHAIN,
            sc.EXECUTION_ORDER: self._next_order(container),
        }
        self._ids(attrs, _str(container.get("prompt_id")), exact=True)
        if self.tool_name:
            attrs[sc.GEN_AI_TOOL_NAME] = self.tool_name
        if self.tool_use_id:
            attrs[sc.GEN_AI_TOOL_CALL_ID] = self.tool_use_id
        if self.agent_id:
            attrs[sc.GEN_AI_AGENT_ID] = self.agent_id
        if self.agent_type:
            attrs[sc.GEN_AI_AGENT_NAME] = self.agent_type
        path = payload.file_path_of(self.event.get("tool_input"))
        if path:
            attrs[sc.CODE_FILE_PATH] = path
        mode = self.event.get("permission_mode")
        if isinstance(mode, str):
            attrs[sc.PERMISSION_MODE] = mode
        attrs[sc.INPUT_DATA] = self._json(payload.event_input(self.event, self.settings.capture_prompts))
        cwd = self.event.get("cwd")
        if isinstance(cwd, str):
            attrs.update(git_context(cwd))
        metadata = {k: self.event[k] for k in ("cwd", "transcript_path", "effort", "agent_transcript_path")
                    if self.event.get(k) is not None}  # fmt: skip
        if self.prompt_id and self.prompt_id != container.get("prompt_id"):
            metadata["event_prompt_id"] = self.prompt_id  # not this trace's prompt (see the docstring)
        metadata["pid"] = posix.getpid()
        attrs[sc.METADATA] = self._json(metadata)
        attrs[sc.STATUS] = sc.STATUS_COMPLETED
        attrs[sc.SUCCESS] = True
        self.hook_span = LeanSpan(
            trace_id, random_span_id(), sc.hook_span_name(self.event_name), self.started_ns, self.started_ns,
            parent_span_id=parent, attributes=attrs,
        )  # fmt: skip
