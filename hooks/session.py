"""A Claude Code session's own trace: one per ``session_id``, across every process that runs it.

``claude -p``, then ``claude -p --resume <id>``, then ``--continue`` are three processes with one
``session_id``; each fires SessionStart (``source: resume`` when continuing) and SessionEnd. So:

- the session trace id is derived from the session id (``ids.session_trace_id``), and its root span
  id from that (``ids.turn_span_id``): every process, and every turn's root_id/parent_id, names the
  same root without having seen it;
- the session's part of the hook state (start, execution order, source, model) outlives SessionEnd,
  so a resumed process continues it; only the per-process parts (turn, tools, subagents) are reset;
- every SessionEnd emits the root ``claude_code.session`` again, from the session's first start to
  this end. The exporter keeps the emission that ends last (``exporter/writer.py``), so the stored
  session covers all of its processes; a replay of an older one changes nothing.
"""

from __future__ import annotations

from traceability.instrumentation import semconv as sc
from traceability.instrumentation.ids import session_trace_id, turn_span_id
from traceability.instrumentation.otlp_json import LeanSpan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from traceability.hooks.state_types import HookState, SessionEntry

SOURCE_SESSION = "claude-code-session"
SOURCE_RESUME = "resume"


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


def root_span(
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
