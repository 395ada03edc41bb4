"""The event mapping as it was before the hot-path rework (kept only as the test oracle of ``event_row``).

One attribute lookup helper per column, no redaction cache, ``uuid.uuid5`` ids; the low-level value
rules (clean text, JSON text, numbers) are the storage layer's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from traceability.exporter.codec.native_records import LogRecordData
from traceability.exporter.codec.records import AttrValue
from traceability.exporter.storage.limits import index_safe_text
from traceability.exporter.storage.values import (
    ROW_NAMESPACE,
    bool_attr,
    clean_text,
    dumps,
    float_attr,
    resource_json,
    text_attr,
    to_datetime,
    trace_uuid,
)
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.redaction.redact import redact

_PROMPT_KEYS = frozenset({sc.CC_PROMPT, sc.CC_PROMPT_TEXT, sc.CC_USER_PROMPT})


def _redact(value: Any) -> Any:
    """Secrets out of every string (nested values too)."""
    if isinstance(value, str):
        return redact(clean_text(value))
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def _prompt(attrs: Mapping[str, AttrValue], capture_prompts: bool) -> str | None:
    """The prompt text when Claude Code sent it (not its placeholder) and capture is on, redacted."""
    if not capture_prompts:
        return None
    for key in (sc.CC_PROMPT, sc.CC_PROMPT_TEXT, sc.CC_USER_PROMPT):
        value = attrs.get(key)
        if isinstance(value, str) and value and value != sc.CC_REDACTED_PLACEHOLDER:
            return str(_redact(value))
    return None


def _indexed(attrs: Mapping[str, AttrValue], key: str) -> str | None:
    """A column a btree index holds: ``limits.index_safe_text`` (the whole value stays in the
    row's ``attributes``, see ``_rest``)."""
    value = text_attr(attrs, key)
    return None if value is None else index_safe_text(value)


def _shortened(value: AttrValue) -> bool:
    return isinstance(value, str) and index_safe_text(value) is not value


def _rest(attrs: Mapping[str, AttrValue], in_columns: frozenset[str]) -> str | None:
    """The attributes no column holds, and whole the values an indexed column holds shortened."""
    return dumps(
        {
            k: _redact(v)
            for k, v in attrs.items()
            if (k not in in_columns or _shortened(v)) and k not in _PROMPT_KEYS
        }
    )


def _int64(attrs: Mapping[str, AttrValue], key: str) -> int | None:
    value = float_attr(attrs, key)
    if value is None or not -(2**63) <= value < 2**63:
        return None
    return int(value)


_TOKEN_KEYS = (sc.CC_INPUT_TOKENS, sc.CC_OUTPUT_TOKENS, sc.CC_CACHE_READ_TOKENS, sc.CC_CACHE_CREATION_TOKENS)


def _tokens(attrs: Mapping[str, AttrValue]) -> tuple[int | None, ...]:
    """The four token counts (input, output, cache read, cache creation), in column order."""
    return tuple(_int64(attrs, key) for key in _TOKEN_KEYS)


def _uuid_of_hex(value: str | None) -> uuid.UUID | None:
    return trace_uuid(value) if value else None


# --- log events -------------------------------------------------------------------------------

EVENT_COLUMNS = (
    "id", "event_name", "event_time", "observed_at", "session_id", "prompt_id", "native_trace_id",
    "native_span_id", "tool_use_id", "tool_name", "model", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_creation_tokens", "cost_usd", "duration_ms", "ttft_ms", "request_id",
    "error", "status_code", "success", "decision", "decision_source", "hook_event", "hook_name",
    "hook_total_duration_ms", "num_hooks", "prompt_text", "severity_text", "body", "attributes", "resource",
)  # fmt: skip
EVENT_JSON_COLUMNS = frozenset({"attributes", "resource"})
_EVENT_COLUMN_ATTRIBUTES = frozenset(
    {
        sc.CC_EVENT_NAME, sc.SESSION_ID, sc.PROMPT_ID, sc.CC_TOOL_USE_ID, sc.CC_TOOL_NAME, sc.CC_MODEL,
        sc.CC_INPUT_TOKENS, sc.CC_OUTPUT_TOKENS, sc.CC_CACHE_READ_TOKENS, sc.CC_CACHE_CREATION_TOKENS,
        sc.CC_COST_USD, sc.CC_DURATION_MS, sc.CC_TTFT_MS, sc.CC_REQUEST_ID, sc.CC_ERROR, sc.CC_STATUS_CODE,
        sc.CC_SUCCESS, sc.CC_DECISION, sc.CC_DECISION_SOURCE, sc.CC_HOOK_EVENT, sc.CC_HOOK_NAME,
        sc.CC_HOOK_TOTAL_DURATION_MS, sc.CC_NUM_HOOKS,
    }
)  # fmt: skip


def event_name(record: LogRecordData) -> str:
    """``event.name``, else the body without its ``claude_code.`` prefix, else ``log``."""
    name = record.attributes.get(sc.CC_EVENT_NAME)
    if isinstance(name, str) and name:
        return clean_text(name)
    if isinstance(record.body, str) and record.body:
        return clean_text(record.body.removeprefix(sc.CC_SPAN_NAME_PREFIX))
    return "log"


def event_row_id(record: LogRecordData) -> uuid.UUID:
    """What identifies an event: session, sequence, time, name and the span it happened in.

    Records without a sequence number (other producers) add their attributes to the key.
    """
    attrs = record.attributes
    sequence = attrs.get(sc.CC_EVENT_SEQUENCE)
    key = "|".join(
        str(part)
        for part in (
            "event", attrs.get(sc.SESSION_ID), sequence, record.time_unix_nano, event_name(record),
            record.trace_id, record.span_id,
        )
    )  # fmt: skip
    if sequence is None:
        key += "|" + (dumps({k: _redact(v) for k, v in sorted(attrs.items())}) or "") + "|" + str(record.body)
    return uuid.uuid5(ROW_NAMESPACE, key)


def event_row(record: LogRecordData, capture_prompts: bool, resource: str | None = None) -> tuple[Any, ...]:
    attrs = record.attributes
    body = record.body if isinstance(record.body, str) else dumps(_redact(record.body))
    return (
        event_row_id(record),
        event_name(record),
        to_datetime(record.time_unix_nano),
        to_datetime(record.observed_time_unix_nano) if record.observed_time_unix_nano else None,
        _indexed(attrs, sc.SESSION_ID),
        _indexed(attrs, sc.PROMPT_ID),
        _uuid_of_hex(record.trace_id),
        record.span_id,
        _indexed(attrs, sc.CC_TOOL_USE_ID),
        text_attr(attrs, sc.CC_TOOL_NAME),
        text_attr(attrs, sc.CC_MODEL),
        *_tokens(attrs),
        float_attr(attrs, sc.CC_COST_USD),
        float_attr(attrs, sc.CC_DURATION_MS),
        float_attr(attrs, sc.CC_TTFT_MS),
        text_attr(attrs, sc.CC_REQUEST_ID),
        _redact(text_attr(attrs, sc.CC_ERROR)),
        text_attr(attrs, sc.CC_STATUS_CODE),
        bool_attr(attrs, sc.CC_SUCCESS),
        text_attr(attrs, sc.CC_DECISION),
        text_attr(attrs, sc.CC_DECISION_SOURCE),
        text_attr(attrs, sc.CC_HOOK_EVENT),
        text_attr(attrs, sc.CC_HOOK_NAME),
        float_attr(attrs, sc.CC_HOOK_TOTAL_DURATION_MS),
        _int64(attrs, sc.CC_NUM_HOOKS),
        _prompt(attrs, capture_prompts),
        clean_text(record.severity_text) or None,
        _redact(clean_text(body)) if body is not None else None,
        _rest(attrs, _EVENT_COLUMN_ATTRIBUTES),
        resource if resource is not None else resource_json(record.resource),
    )
