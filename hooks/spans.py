"""The hook's span builders: a state entry (hooks/state_types.py) and the event -> one ``LeanSpan``.

Pure functions: they read what they are given and build the span, touching no state. Which spans to
build, and when, is hooks/events.py; the attributes of each
span type are the contract of docs/span-contract.md.
"""

from __future__ import annotations

import posix

from traceability.hooks import payload
from traceability.hooks.git_context import git_context
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.ids import turn_span_id
from traceability.instrumentation.otlp_json import STATUS_ERROR, LeanSpan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from traceability.hooks.settings import HookSettings
    from traceability.hooks.state_types import AgentState, SessionEntry, ToolState, TurnState

    ToJson = Callable[[Any], str]

HOOK_NAME = "traceability-hook"
SOURCE_TURN = "claude-code"
SOURCE_SESSION = "claude-code-session"
TAGS = ("claude-code",)
HOOK_METADATA_KEYS = ("cwd", "transcript_path", "effort", "agent_transcript_path")


def random_span_id() -> int:
    return int.from_bytes(posix.urandom(8), "big") or 1


def as_text(value: Any) -> str:
    """``value`` when it is a string, else "" (payload fields may be anything)."""
    return value if isinstance(value, str) else ""


class Ids:
    """The session, user and event prompt ids every span of this event carries."""

    __slots__ = ("prompt_id", "session_id", "user_id")

    def __init__(self, session_id: str, user_id: str, prompt_id: str) -> None:
        self.session_id = session_id
        self.user_id = user_id
        self.prompt_id = prompt_id

    def add(self, attrs: dict[str, Any], prompt_id: str, exact: bool = False) -> dict[str, Any]:
        """Session, prompt and user ids; the prompt is ``prompt_id``, else (unless ``exact``) the event's."""
        if self.session_id:
            attrs[sc.SESSION_ID] = self.session_id
        prompt = prompt_id if exact else prompt_id or self.prompt_id
        if prompt:
            attrs[sc.PROMPT_ID] = prompt
        if self.user_id:
            attrs[sc.USER_ID] = self.user_id
        return attrs


def _error_status(status: str, completed: str) -> int:
    return STATUS_ERROR if status != completed else 0


def tool_span(
    tool_use_id: str, tool: ToolState, end_ns: int, status: str, ids: Ids, to_json: ToJson,
    extra: dict[str, Any],
) -> LeanSpan:  # fmt: skip
    """The execute_tool span of an open tool (``tool`` is its state entry, ``extra`` the Post's attributes)."""
    name = tool["name"] or "unknown"
    attrs: dict[str, Any] = {
        sc.SPAN_TYPE: sc.SPAN_TYPE_TOOL,
        sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL,
        sc.GEN_AI_TOOL_NAME: name,
        sc.OPENINFERENCE_SPAN_KIND: sc.OPENINFERENCE_KIND_TOOL,
    }
    if tool_use_id and not tool_use_id.startswith("_"):
        attrs[sc.GEN_AI_TOOL_CALL_ID] = tool_use_id
    ids.add(attrs, tool["prompt_id"])
    if tool.get("agent"):
        attrs[sc.GEN_AI_AGENT_ID] = tool.get("agent")
        if tool.get("agent_type"):
            attrs[sc.GEN_AI_AGENT_NAME] = tool.get("agent_type")
    if tool.get("file"):
        attrs[sc.CODE_FILE_PATH] = tool.get("file")
    attrs[sc.EXECUTION_ORDER] = tool["order"]
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
        attrs[sc.INPUT_DATA] = tool.get("input")
    code = tool.get("code")
    if sc.CODE_CONTENT not in attrs and isinstance(code, dict):
        attrs.update(code)
    if tool.get("permission"):
        attrs[sc.METADATA] = to_json({"permission_requested": True})
    message = as_text(attrs.get(sc.ERROR_MESSAGE))
    failed = status != sc.STATUS_COMPLETED
    return LeanSpan(
        tool["trace"], tool["span"], sc.execute_tool_span_name(name), tool["start"], max(end_ns, tool["start"]),
        parent_span_id=tool["parent"], attributes=attrs, status_code=_error_status(status, sc.STATUS_COMPLETED),
        status_message=message[:1024] if failed else "",
    )  # fmt: skip


def agent_span(agent_id: str, agent: AgentState, end_ns: int, status: str, ids: Ids) -> LeanSpan:
    """The invoke_agent span of a subagent (``agent`` is its state entry)."""
    agent_type = agent["type"]
    attrs: dict[str, Any] = {
        sc.SPAN_TYPE: sc.SPAN_TYPE_SUBAGENT,
        sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT,
        sc.OPENINFERENCE_SPAN_KIND: sc.OPENINFERENCE_KIND_AGENT,
        sc.GEN_AI_AGENT_ID: agent_id,
    }
    if agent_type:
        attrs[sc.GEN_AI_AGENT_NAME] = agent_type
    ids.add(attrs, agent["prompt_id"])
    if agent["tool"]:
        attrs[sc.GEN_AI_TOOL_CALL_ID] = agent["tool"]
    attrs[sc.EXECUTION_ORDER] = agent["order"]
    attrs[sc.STATUS] = status
    attrs[sc.SUCCESS] = status == sc.STATUS_COMPLETED
    failed = status != sc.STATUS_COMPLETED
    return LeanSpan(
        agent["trace"], agent["span"], f"{sc.SPAN_NAME_SUBAGENT_PREFIX} {agent_type or 'subagent'}",
        agent["start"], max(end_ns, agent["start"]), parent_span_id=agent["parent"], attributes=attrs,
        status_code=_error_status(status, sc.STATUS_COMPLETED), status_message=status if failed else "",
    )  # fmt: skip


def turn_span(
    turn: TurnState, session: SessionEntry, session_uuid: str, end_ns: int, status: str, error_type: str,
    ids: Ids, to_json: ToJson,
) -> LeanSpan:  # fmt: skip
    """The turn's root span; ``session_uuid`` names the session trace it belongs to."""
    trace_id = turn["trace"]
    attrs: dict[str, Any] = {sc.SPAN_TYPE: sc.SPAN_TYPE_TURN, sc.SOURCE: SOURCE_TURN}
    ids.add(attrs, turn["prompt_id"])
    attrs[sc.OPENINFERENCE_SPAN_KIND] = sc.OPENINFERENCE_KIND_AGENT
    attrs[sc.EXECUTION_ORDER] = 0
    attrs[sc.ROOT_ID] = session_uuid
    attrs[sc.PARENT_ID] = session_uuid
    if turn.get("prompt_text") is not None:
        attrs[sc.PROMPT_TEXT] = turn.get("prompt_text")
    if turn.get("prompt_length") is not None:
        attrs[sc.PROMPT_LENGTH] = turn.get("prompt_length")
    attrs[sc.TAGS] = list(TAGS)
    found = (("cwd", turn.get("cwd")), ("permission_mode", turn.get("permission_mode")),
             ("tool_uses", turn.get("tool_uses")))  # fmt: skip
    context: dict[str, Any] = {key: value for key, value in found if value is not None}
    if session.get("model"):
        context["model"] = session.get("model")
    attrs[sc.CONTEXT] = to_json(context)
    attrs[sc.TRACE_STATUS] = status
    attrs[sc.SUCCESS] = status == sc.TRACE_STATUS_COMPLETED
    message = ""
    if status == sc.TRACE_STATUS_ABANDONED:
        message = "the turn ended without a Stop event"
        attrs[sc.ERROR_TYPE] = "abandoned"
    elif status == sc.TRACE_STATUS_FAILED:
        message = f"the turn failed: {error_type or 'error'}"
        attrs[sc.ERROR_TYPE] = error_type or "error"
    start = turn["start"]
    return LeanSpan(
        trace_id, turn_span_id(trace_id), sc.SPAN_NAME_TURN, start, max(end_ns, start), attributes=attrs,
        status_code=STATUS_ERROR if message else 0, status_message=message,
    )  # fmt: skip


def hook_span(
    event: dict[str, Any], event_name: str, settings: HookSettings, trace_id: int, parent: int, order: int,
    trace_prompt_id: str, ids: Ids, to_json: ToJson, started_ns: int,
) -> LeanSpan:  # fmt: skip
    """This hook run's span (its end time is set when the run finishes); ``trace_prompt_id`` is the
    prompt of the trace it sits in (none in the session trace)."""
    attrs: dict[str, Any] = {
        sc.SPAN_TYPE: sc.SPAN_TYPE_HOOK,
        sc.HOOK_TYPE: event_name,
        sc.HOOK_NAME: HOOK_NAME,
        sc.OPENINFERENCE_SPAN_KIND: sc.OPENINFERENCE_KIND_CHAIN,
        sc.EXECUTION_ORDER: order,
    }
    ids.add(attrs, trace_prompt_id, exact=True)
    for key, attr in (("tool_name", sc.GEN_AI_TOOL_NAME), ("tool_use_id", sc.GEN_AI_TOOL_CALL_ID),
                      ("agent_id", sc.GEN_AI_AGENT_ID), ("agent_type", sc.GEN_AI_AGENT_NAME)):  # fmt: skip
        value = as_text(event.get(key))
        if value:
            attrs[attr] = value
    path = payload.file_path_of(event.get("tool_input"))
    if path:
        attrs[sc.CODE_FILE_PATH] = path
    mode = event.get("permission_mode")
    if isinstance(mode, str):
        attrs[sc.PERMISSION_MODE] = mode
    attrs[sc.INPUT_DATA] = to_json(payload.event_input(event, settings.capture_prompts))
    cwd = event.get("cwd")
    if isinstance(cwd, str):
        attrs.update(git_context(cwd))
    metadata = {k: event[k] for k in HOOK_METADATA_KEYS if event.get(k) is not None}
    if ids.prompt_id and ids.prompt_id != trace_prompt_id:
        metadata["event_prompt_id"] = ids.prompt_id  # not this trace's prompt (hooks/events.py docstring)
    metadata["pid"] = posix.getpid()
    attrs[sc.METADATA] = to_json(metadata)
    attrs[sc.STATUS] = sc.STATUS_COMPLETED
    attrs[sc.SUCCESS] = True
    return LeanSpan(
        trace_id, random_span_id(), sc.hook_span_name(event_name), started_ns, started_ns,
        parent_span_id=parent, attributes=attrs,
    )  # fmt: skip


def session_span(
    session: SessionEntry,
    session_id: str,
    user_id: str,
    reason: str,
    end_ns: int,
    tags: list[str],
    to_json: Callable[[Any], str],
) -> LeanSpan:
    """The session's root span, from its first start to ``end_ns`` (emitted at every SessionEnd)."""
    trace_id = session["trace"]
    # No traceability.span.type here: the exporter takes a typed span as a root only when it is a
    # turn; an untyped span without a parent is a root under both readings of the contract.
    attrs: dict[str, Any] = {sc.SOURCE: SOURCE_SESSION}
    if session_id:
        attrs[sc.SESSION_ID] = session_id
    if user_id:
        attrs[sc.USER_ID] = user_id
    attrs[sc.EXECUTION_ORDER] = 0
    attrs[sc.TAGS] = tags
    found = (("source", session.get("source")), ("model", session.get("model")), ("cwd", session.get("cwd")),
             ("resumes", session.get("resumes")))  # fmt: skip
    context: dict[str, Any] = {key: value for key, value in found if value}
    if reason:
        context["end_reason"] = reason
    attrs[sc.CONTEXT] = to_json(context)
    attrs[sc.TRACE_STATUS] = sc.TRACE_STATUS_COMPLETED
    attrs[sc.SUCCESS] = True
    start = session["start"]
    return LeanSpan(
        trace_id, turn_span_id(trace_id), sc.SPAN_NAME_SESSION, start, max(end_ns, start), attributes=attrs
    )
