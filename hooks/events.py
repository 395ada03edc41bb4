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
  across the processes of ``--resume``/``--continue`` (hooks/correlation.py);
- a span's ``prompt.id`` is the prompt of the trace it sits in: a session-trace span has none. The
  prompt id an event carried there (SessionEnd names the last turn's) is kept in its metadata as
  ``event_prompt_id``, so the correlation id and the prompt id of a row never disagree.

The state is typed (hooks/state_types.py) and checked when loaded (hooks/state.py); the spans
are built by the pure functions of hooks/spans.py; ``HANDLERS`` names the method of each event.
"""

from __future__ import annotations

import posix

from traceability.hooks import payload, spans
from traceability.hooks.correlation import AGENT_TOOLS, Correlation, end_process, on_start
from traceability.hooks.spans import TAGS, as_text
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.redaction.redact import redact_cut

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from traceability.hooks.correlation import Where
    from traceability.hooks.state_types import HookState
    from traceability.instrumentation.otlp_json import LeanSpan

# Events that belong to a turn even when no UserPromptSubmit was seen for it (hooks installed mid-turn).
TURN_EVENTS = frozenset(
    {"UserPromptSubmit", "UserPromptExpansion", "PreToolUse", "PostToolUse", "PostToolUseFailure",
     "PermissionRequest", "PostToolBatch", "SubagentStart", "Stop", "StopFailure"}
)  # fmt: skip


class EventSpans(Correlation):
    """Applies one event to the session state (under the session lock) and collects finished spans.

    ``hook_span`` is this hook run's own span; its end time is set by the caller just before writing.
    """

    # --- the event ------------------------------------------------------------------------------

    def apply(self, state: HookState) -> None:
        """Update ``state`` for this event; finished spans go to ``self.spans``, and ``self.hook_span``
        is this run's span (end time still to be set)."""
        self.state = state
        trace_id, parent, container, prompt_id = HANDLERS.get(self.event_name, EventSpans._on_generic)(self)
        self.hook_span = spans.hook_span(
            self.event, self.event_name, self.settings, trace_id, parent, self._next_order(container),
            prompt_id, self.ids, self._json, self.started_ns,
        )  # fmt: skip

    def _on_generic(self) -> Where:
        return self._in_turn(self.event_name in TURN_EVENTS)

    def _on_session_start(self) -> Where:
        on_start(self._session(), self.event)
        return self._trace_of(None)

    def _on_session_end(self) -> Where:
        self._abandon_open_turn()
        for tool_use_id, tool in list(self.state["tools"].items()):
            self._tool_span(tool_use_id, tool, self.started_ns, sc.STATUS_ABANDONED,
                            **{sc.ERROR_MESSAGE: "session ended", sc.ERROR_TYPE: "abandoned"})  # fmt: skip
        for agent_id, agent in list(self.state["agents"].items()):
            self.spans.append(
                spans.agent_span(agent_id, agent, self.started_ns, sc.STATUS_ABANDONED, self.ids)
            )
        end_process(self.state)
        self.spans.append(
            spans.session_span(
                self._session(), self.session_id, self.settings.user_id, as_text(self.event.get("reason")),
                self.started_ns, list(TAGS), self._json,
            )
        )  # fmt: skip
        return self._trace_of(None)

    def _on_user_prompt_submit(self) -> Where:
        if not self.prompt_id:
            # no prompt_id (Claude Code < 2.1.196): a new prompt while a turn is open ends that turn
            self._abandon_open_turn()
        turn = self._ensure_turn()
        prompt = self.event.get("prompt")
        if isinstance(prompt, str):
            turn["prompt_length"] = len(prompt)
            if self.settings.capture_prompts:
                turn["prompt_text"] = redact_cut(prompt, self.settings.max_json_chars)
        self._touch(turn)
        return self._trace_of(turn)

    def _on_pre_tool_use(self) -> Where:
        turn, (trace_id, _, container, prompt_id) = self._in_touched_turn()
        tools = self.state["tools"]
        key = self.tool_use_id or f"_pre-{self.started_ns}-{posix.getpid()}"
        tool = tools.get(key)
        if tool is None:  # a second hook entry for the same call reuses the open span
            tool = self._open_tool(turn, self.event.get("tool_input"), self.started_ns)
            tools[key] = tool
        self.tool_key = key
        return trace_id, tool["span"], container, prompt_id

    def _on_post_tool_use(self) -> Where:
        return self._post_tool(failed=False)

    def _on_post_tool_use_failure(self) -> Where:
        return self._post_tool(failed=True)

    def _post_tool(self, failed: bool) -> Where:
        turn, (trace_id, _, container, prompt_id) = self._in_touched_turn()
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
            del self.state["tools"][key]
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
            extra.update(self._code_attrs(tool["name"], tool_input, response, applied=True))
            status = sc.STATUS_COMPLETED
        if tool["name"] in AGENT_TOOLS and isinstance(response, dict):
            self._relink_agent(as_text(response.get("agentId")), key, tool)
        self._tool_span(key, tool, self.started_ns, status, **extra)
        return trace_id, tool["span"], container, prompt_id

    def _on_permission_request(self) -> Where:
        trace_id, parent, container, prompt_id = self._in_turn(create=True)
        found = self._find_open_tool()
        if found is not None and found[1]["trace"] == trace_id:
            found[1]["permission"] = True
            parent = found[1]["span"]
        return trace_id, parent, container, prompt_id

    def _on_post_tool_batch(self) -> Where:
        where = self._in_turn(create=True)
        calls = self.event.get("tool_calls")
        tools = self.state["tools"]
        for call in calls if isinstance(calls, list) else ():
            key = as_text(call.get("tool_use_id")) if isinstance(call, dict) else ""
            tool = tools.pop(key, None) if key else None
            if tool is None:
                continue  # it had its Post (or was never seen)
            reason = payload.text_of(call.get("tool_response")) or "the tool call was not run"
            tool_input = call.get("tool_input")
            extra: dict[str, Any] = {
                sc.ERROR_MESSAGE: redact_cut(reason, self.settings.max_string_chars),
                sc.ERROR_TYPE: "blocked",
            }
            if tool_input is not None:
                extra[sc.INPUT_DATA] = self._json(tool_input)
            extra.update(self._code_attrs(tool["name"], tool_input, None, applied=False))
            self._tool_span(key, tool, self.started_ns, sc.STATUS_BLOCKED, **extra)
        return where

    def _on_subagent_start(self) -> Where:
        turn, (trace_id, parent, container, prompt_id) = self._in_touched_turn()
        agent = self._ensure_agent(turn)
        if agent is not None:
            parent = agent["span"]
        return trace_id, parent, container, prompt_id

    def _on_subagent_stop(self) -> Where:
        where = self._in_turn(create=False)
        agent = self.state["agents"].pop(self.agent_id, None) if self.agent_id else None
        if agent is None:
            return where
        tools = self.state["tools"]
        for tool_use_id, tool in list(tools.items()):
            if tool.get("agent") == self.agent_id:
                self._tool_span(tool_use_id, tool, self.started_ns, sc.STATUS_BLOCKED,
                                **{sc.ERROR_MESSAGE: "the subagent stopped before the tool ran",
                                   sc.ERROR_TYPE: "blocked"})  # fmt: skip
                del tools[tool_use_id]
        self.spans.append(
            spans.agent_span(self.agent_id, agent, self.started_ns, sc.STATUS_COMPLETED, self.ids)
        )
        return agent["trace"], agent["span"], where[2], where[3]

    def _on_stop(self) -> Where:
        return self._stop(sc.TRACE_STATUS_COMPLETED)

    def _on_stop_failure(self) -> Where:
        error = redact_cut(payload.text_of(self.event.get("error")), self.settings.max_string_chars)
        return self._stop(sc.TRACE_STATUS_FAILED, error or "error")

    def _stop(self, status: str, error_type: str = "") -> Where:
        turn, where = self._in_touched_turn()
        if not turn.get("closed"):
            self._close_turn(turn, self.started_ns, status, error_type)
        return where

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


# Each event's handler; any other event (Claude Code adds some) is recorded by ``_on_generic``.
HANDLERS: dict[str, Callable[[EventSpans], Where]] = {
    "SessionStart": EventSpans._on_session_start,
    "SessionEnd": EventSpans._on_session_end,
    "UserPromptSubmit": EventSpans._on_user_prompt_submit,
    "PreToolUse": EventSpans._on_pre_tool_use,
    "PostToolUse": EventSpans._on_post_tool_use,
    "PostToolUseFailure": EventSpans._on_post_tool_use_failure,
    "PermissionRequest": EventSpans._on_permission_request,
    "PostToolBatch": EventSpans._on_post_tool_batch,
    "SubagentStart": EventSpans._on_subagent_start,
    "SubagentStop": EventSpans._on_subagent_stop,
    "Stop": EventSpans._on_stop,
    "StopFailure": EventSpans._on_stop_failure,
}
