"""The one minimal span a degraded run writes (hooks/degraded.py): its deadline passed, or its
stdin is over the cap. Nothing from the payload but its identifiers, read from its head when the
whole does not parse; loaded only by such a run.
"""

from __future__ import annotations

from traceability.hooks.correlation import random_trace_id
from traceability.hooks.degraded import HEAD_BYTES
from traceability.hooks.spans import random_span_id
from traceability.instrumentation import otlp_json
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.ids import parse_trace_uuid, turn_span_id
from traceability.instrumentation.otlp_json import LeanSpan
from traceability.instrumentation.redaction.redact import redact_cut

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_FIELDS = ("hook_event_name", "session_id", "prompt_id", "tool_name", "tool_use_id")


def fields_of(head: bytes) -> dict[str, str]:
    """The identifying fields of a payload that cannot be parsed whole (``"name": "value"`` pairs)."""
    text = head[:HEAD_BYTES].decode("utf-8", "replace")
    found: dict[str, str] = {}
    for name in _FIELDS:
        at = text.find(f'"{name}"')
        colon = text.find(":", at + len(name) + 2) if at >= 0 else -1
        start = text.find('"', colon + 1) if colon >= 0 else -1
        end = text.find('"', start + 1) if start >= 0 else -1
        while end > 0 and text[end - 1] == "\\":  # an escaped quote inside the value
            end = text.find('"', end + 1)
        if 0 <= start < end and end - start <= 512 and not text[at + len(name) + 2 : start].strip(" \t\r\n:"):
            try:
                value = otlp_json.loads(text[start : end + 1])
            except (ValueError, SystemError):  # _json's scanner raises SystemError on some bad input
                continue
            if isinstance(value, str):
                found[name] = value
    return found


def minimal_span(event: dict[str, Any], reason: str, started_ns: int, end_ns: int) -> LeanSpan:
    """This run's hook span with nothing from the payload but its (redacted, cut) identifiers."""

    def text(name: str) -> str:
        value = event.get(name)
        return redact_cut(value, 256) if isinstance(value, str) else ""

    name = text("hook_event_name") or "Unknown"
    attrs: dict[str, Any] = {
        sc.SPAN_TYPE: sc.SPAN_TYPE_HOOK,
        sc.HOOK_TYPE: name,
        sc.HOOK_NAME: "traceability-hook",
        sc.OPENINFERENCE_SPAN_KIND: sc.OPENINFERENCE_KIND_CHAIN,
        sc.STATUS: sc.STATUS_COMPLETED,
        sc.SUCCESS: True,
        sc.HOOK_DEGRADED: True,
        sc.HOOK_DEGRADED_REASON: reason,
    }
    for key, attr in (
        ("session_id", sc.SESSION_ID),
        ("prompt_id", sc.PROMPT_ID),
        ("tool_name", sc.GEN_AI_TOOL_NAME),
        ("tool_use_id", sc.GEN_AI_TOOL_CALL_ID),
    ):
        if text(key):
            attrs[attr] = text(key)
    trace_id = parse_trace_uuid(text("prompt_id")) or random_trace_id()
    return LeanSpan(
        trace_id, random_span_id(), sc.hook_span_name(name), started_ns, max(end_ns, started_ns),
        parent_span_id=turn_span_id(trace_id), attributes=attrs,
    )  # fmt: skip
