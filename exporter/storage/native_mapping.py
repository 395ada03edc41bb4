"""Claude Code's own telemetry -> rows: log events, metric points and native spans (see the span contract).

Row ids are derived from what identifies the record (a replay maps to the same ids). Every string
a Claude Code event or span carries goes through ``_redact`` (the one place redaction is called on
this path); prompt text is kept only when Claude Code sent it and prompt capture is on.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from asyncpg.pgproto.pgproto import UUID as PgUUID

from traceability.exporter.codec.native_records import LogRecordData, MetricPointData
from traceability.exporter.codec.records import AttrValue, SpanRecord
from traceability.exporter.storage.limits import INDEXED_TEXT_MAX_BYTES, index_safe_text
from traceability.exporter.storage.values import (
    ROW_NAMESPACE,
    bool_attr,
    bool_value,
    clean_text,
    dumps,
    float_attr,
    float_value,
    hook_row_id,
    resource_json,
    row_uuid,
    text_attr,
    text_value,
    to_datetime,
    trace_uuid,
)
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.redaction.redact import redact

_PROMPT_KEYS = frozenset({sc.CC_PROMPT, sc.CC_PROMPT_TEXT, sc.CC_USER_PROMPT})


def is_native_span(span: SpanRecord) -> bool:
    """A span Claude Code itself exported (not one of our hook spans)."""
    if span.scope_name == sc.CC_TRACING_SCOPE:
        return True
    return (
        sc.SPAN_TYPE not in span.attributes
        and sc.CC_SPAN_TYPE in span.attributes
        and span.name.startswith(sc.CC_SPAN_NAME_PREFIX)
    )


_CACHED_CHARS = 512  # Claude Code repeats its short values (user, session, model, terminal) in every event


@functools.lru_cache(maxsize=8192)
def _redact_short(value: str) -> str:
    """``redact`` is a function of the text alone: a short value seen before is not scanned again."""
    return redact(clean_text(value))


def _redact(value: Any) -> Any:
    """Secrets out of every string (nested values too)."""
    if isinstance(value, str):
        return _redact_short(value) if len(value) <= _CACHED_CHARS else redact(clean_text(value))
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


def _int64(raw: AttrValue) -> int | None:
    value = float_value(raw)
    if value is None or not -(2**63) <= value < 2**63:
        return None
    return int(value)


_TOKEN_KEYS = (sc.CC_INPUT_TOKENS, sc.CC_OUTPUT_TOKENS, sc.CC_CACHE_READ_TOKENS, sc.CC_CACHE_CREATION_TOKENS)


def _tokens(attrs: Mapping[str, AttrValue]) -> tuple[int | None, ...]:
    """The four token counts (input, output, cache read, cache creation), in column order."""
    get = attrs.get
    return tuple([_int64(get(key)) for key in _TOKEN_KEYS])


@functools.lru_cache(maxsize=8192)
def _native_trace_uuid(value: str) -> uuid.UUID:
    """``trace_uuid`` as asyncpg's own UUID, which COPY writes as is (a stdlib one costs a
    ``.bytes`` call per row); cached: a batch holds many events of few traces."""
    native: uuid.UUID = PgUUID(trace_uuid(value).bytes)
    return native


def _uuid_of_hex(value: str | None) -> uuid.UUID | None:
    return _native_trace_uuid(value) if value else None


# --- log events -------------------------------------------------------------------------------

EVENT_COLUMNS = (
    "id", "event_name", "event_time", "observed_at", "session_id", "prompt_id", "native_trace_id",
    "native_span_id", "tool_use_id", "tool_name", "model", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_creation_tokens", "cost_usd", "duration_ms", "ttft_ms", "request_id",
    "error", "status_code", "success", "decision", "decision_source", "hook_event", "hook_name",
    "hook_total_duration_ms", "num_hooks", "prompt_text", "severity_text", "body", "attributes", "resource",
)  # fmt: skip
EVENT_JSON_COLUMNS = frozenset({"attributes", "resource"})


def _event_name_attr(value: AttrValue) -> str | None:
    return clean_text(value) if isinstance(value, str) and value else None


def _indexed_value(value: AttrValue) -> str | None:
    text = text_value(value)
    return None if text is None else index_safe_text(text)


def _redacted_text(value: AttrValue) -> str | None:
    text = text_value(value)
    return None if text is None else str(_redact(text))


_Convert = Callable[[AttrValue], Any]
# attribute -> the column that holds it, and how its value becomes the column's
_EVENT_ATTRIBUTE_COLUMNS: dict[str, tuple[str, _Convert]] = {
    sc.CC_EVENT_NAME: ("event_name", _event_name_attr), sc.SESSION_ID: ("session_id", _indexed_value),
    sc.PROMPT_ID: ("prompt_id", _indexed_value), sc.CC_TOOL_USE_ID: ("tool_use_id", _indexed_value),
    sc.CC_TOOL_NAME: ("tool_name", text_value), sc.CC_MODEL: ("model", text_value),
    sc.CC_INPUT_TOKENS: ("input_tokens", _int64), sc.CC_OUTPUT_TOKENS: ("output_tokens", _int64),
    sc.CC_CACHE_READ_TOKENS: ("cache_read_tokens", _int64),
    sc.CC_CACHE_CREATION_TOKENS: ("cache_creation_tokens", _int64), sc.CC_COST_USD: ("cost_usd", float_value),
    sc.CC_DURATION_MS: ("duration_ms", float_value), sc.CC_TTFT_MS: ("ttft_ms", float_value),
    sc.CC_REQUEST_ID: ("request_id", text_value), sc.CC_ERROR: ("error", _redacted_text),
    sc.CC_STATUS_CODE: ("status_code", text_value), sc.CC_SUCCESS: ("success", bool_value),
    sc.CC_DECISION: ("decision", text_value), sc.CC_DECISION_SOURCE: ("decision_source", text_value),
    sc.CC_HOOK_EVENT: ("hook_event", text_value), sc.CC_HOOK_NAME: ("hook_name", text_value),
    sc.CC_HOOK_TOTAL_DURATION_MS: ("hook_total_duration_ms", float_value), sc.CC_NUM_HOOKS: ("num_hooks", _int64),
}  # fmt: skip
_E = {column: i for i, column in enumerate(EVENT_COLUMNS)}  # a column's position in a row
_EVENT_SLOTS = {key: (_E[column], convert) for key, (column, convert) in _EVENT_ATTRIBUTE_COLUMNS.items()}
_ID, _NAME, _TIME, _OBSERVED, _SESSION, _PROMPT_ID, _TRACE, _SPAN = (
    _E[c] for c in ("id", "event_name", "event_time", "observed_at", "session_id", "prompt_id",
                    "native_trace_id", "native_span_id")
)  # fmt: skip
_PROMPT_TEXT, _SEVERITY, _BODY, _ATTRIBUTES, _RESOURCE = (
    _E[c] for c in ("prompt_text", "severity_text", "body", "attributes", "resource")
)


def _body_name(record: LogRecordData) -> str:
    """The event name when ``event.name`` does not give one: the body without its prefix, else ``log``."""
    if isinstance(record.body, str) and record.body:
        return clean_text(record.body.removeprefix(sc.CC_SPAN_NAME_PREFIX))
    return "log"


def event_name(record: LogRecordData) -> str:
    """``event.name``, else the body without its ``claude_code.`` prefix, else ``log``."""
    return _event_name_attr(record.attributes.get(sc.CC_EVENT_NAME)) or _body_name(record)


def event_row_id(record: LogRecordData, name: str | None = None) -> uuid.UUID:
    """What identifies an event: session, sequence, time, name and the span it happened in.

    Records without a sequence number (other producers) add their attributes to the key.
    """
    attrs = record.attributes
    sequence = attrs.get(sc.CC_EVENT_SEQUENCE)
    name = event_name(record) if name is None else name
    key = (
        f"event|{attrs.get(sc.SESSION_ID)}|{sequence}|{record.time_unix_nano}|{name}|{record.trace_id}"
        f"|{record.span_id}"
    )
    if sequence is None:
        key += "|" + (dumps({k: _redact(v) for k, v in sorted(attrs.items())}) or "") + "|" + str(record.body)
    return row_uuid(key)


def event_row(record: LogRecordData, capture_prompts: bool, resource: str | None = None) -> tuple[Any, ...]:
    """One pass over the attributes sorts them into their columns (no lookup per column: the
    ingest hot path); the ``attributes`` jsonb holds the attributes no column holds, and the
    whole values of column attributes a column holds shortened (``_rest``'s rule)."""
    row: list[Any] = [None] * len(EVENT_COLUMNS)
    rest: dict[str, Any] = {}
    slots = _EVENT_SLOTS
    for key, value in record.attributes.items():
        slot = slots.get(key)
        if slot is None:
            if key not in _PROMPT_KEYS:
                rest[key] = _redact(value)
            continue
        row[slot[0]] = slot[1](value)
        if isinstance(value, str) and len(value) * 4 > INDEXED_TEXT_MAX_BYTES and _shortened(value):
            rest[key] = _redact(value)  # (a shorter one cannot be: ``index_safe_text``'s fast path)
    name = row[_NAME] or _body_name(record)
    row[_ID] = event_row_id(record, name)
    row[_NAME] = name
    row[_TIME] = when = to_datetime(record.time_unix_nano)
    observed = record.observed_time_unix_nano
    if observed:
        row[_OBSERVED] = when if observed == record.time_unix_nano else to_datetime(observed)
    row[_TRACE] = _uuid_of_hex(record.trace_id)
    row[_SPAN] = record.span_id
    row[_PROMPT_TEXT] = _prompt(record.attributes, capture_prompts)
    row[_SEVERITY] = clean_text(record.severity_text) or None
    body = record.body if isinstance(record.body, str) else dumps(_redact(record.body))
    row[_BODY] = _redact(clean_text(body)) if body is not None else None
    row[_ATTRIBUTES] = dumps(rest)
    row[_RESOURCE] = resource if resource is not None else resource_json(record.resource)
    return tuple(row)


@dataclass(frozen=True, slots=True)
class TraceLink:
    """A native trace and the prompt it belongs to, as a log event tells it."""

    native_trace_id: uuid.UUID
    prompt_id: str
    session_id: str | None


def trace_links(rows: list[tuple[Any, ...]]) -> list[TraceLink]:
    """What the event rows (``event_row``) with a prompt id and a trace id say, one link per trace."""
    links: dict[uuid.UUID, TraceLink] = {}
    for row in rows:
        trace, prompt = row[_TRACE], row[_PROMPT_ID]
        if trace is not None and prompt:
            links.setdefault(trace, TraceLink(trace, prompt, row[_SESSION]))
    return sorted(links.values(), key=lambda link: link.native_trace_id)


# --- metric points ----------------------------------------------------------------------------

METRIC_COLUMNS = (
    "id", "metric_name", "unit", "kind", "temporality", "is_monotonic", "start_time", "point_time",
    "value", "count", "buckets", "session_id", "attributes", "resource",
)  # fmt: skip
METRIC_JSON_COLUMNS = frozenset({"buckets", "attributes", "resource"})


def metric_row(point: MetricPointData, resource: str | None = None) -> tuple[Any, ...]:
    attributes = dumps({k: _redact(v) for k, v in point.attributes.items()})
    resource = resource if resource is not None else resource_json(point.resource)
    key = "|".join(
        str(p)
        for p in (
            "metric",
            point.name,
            point.kind,
            attributes,
            resource,
            point.start_time_unix_nano,
            point.time_unix_nano,
        )
    )
    return (
        uuid.uuid5(ROW_NAMESPACE, key),
        clean_text(point.name),
        clean_text(point.unit) or None,
        point.kind,
        point.temporality,
        point.is_monotonic,
        to_datetime(point.start_time_unix_nano) if point.start_time_unix_nano else None,
        to_datetime(point.time_unix_nano),
        point.value,
        point.count,
        dumps([[b if b != float("inf") else None, c] for b, c in point.buckets]) if point.buckets else None,
        _indexed(point.attributes, sc.SESSION_ID),
        attributes,
        resource,
    )


# --- native spans -----------------------------------------------------------------------------

NATIVE_SPAN_COLUMNS = (
    "id", "trace_id", "span_id", "parent_span_id", "name", "span_type", "started_at", "completed_at",
    "duration_ms", "status_code", "status_message", "session_id", "tool_use_id", "tool_name", "model",
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "request_id", "ttft_ms",
    "success", "decision", "decision_source", "prompt_text", "attributes", "events", "resource",
)  # fmt: skip
NATIVE_SPAN_JSON_COLUMNS = frozenset({"attributes", "events", "resource"})
_SPAN_COLUMN_ATTRIBUTES = frozenset(
    {
        sc.CC_SPAN_TYPE, sc.SESSION_ID, sc.CC_TOOL_USE_ID, sc.GEN_AI_TOOL_CALL_ID, sc.CC_TOOL_NAME,
        sc.GEN_AI_TOOL_NAME, sc.CC_MODEL, sc.CC_INPUT_TOKENS, sc.CC_OUTPUT_TOKENS, sc.CC_CACHE_READ_TOKENS,
        sc.CC_CACHE_CREATION_TOKENS, sc.CC_REQUEST_ID, sc.CC_TTFT_MS, sc.CC_SUCCESS, sc.CC_DECISION,
        sc.CC_DECISION_SOURCE,
    }
)  # fmt: skip


def native_span_row(span: SpanRecord, capture_prompts: bool, resource: str | None = None) -> tuple[Any, ...]:
    attrs = span.attributes
    events = [
        {
            "name": e.name,
            "time_unix_nano": e.time_unix_nano,
            "attributes": {k: _redact(v) for k, v in e.attributes.items()},
        }
        for e in span.events
    ]
    return (
        hook_row_id(span.trace_id, span.span_id),
        trace_uuid(span.trace_id),
        span.span_id,
        span.parent_span_id,
        clean_text(span.name),
        text_attr(attrs, sc.CC_SPAN_TYPE) or clean_text(span.name.removeprefix(sc.CC_SPAN_NAME_PREFIX)),
        to_datetime(span.start_time_unix_nano),
        to_datetime(span.end_time_unix_nano),
        (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6,
        span.status_code,
        _redact(clean_text(span.status_message)) or None,
        _indexed(attrs, sc.SESSION_ID),
        _indexed(attrs, sc.CC_TOOL_USE_ID) or _indexed(attrs, sc.GEN_AI_TOOL_CALL_ID),
        text_attr(attrs, sc.GEN_AI_TOOL_NAME) or text_attr(attrs, sc.CC_TOOL_NAME),
        text_attr(attrs, sc.CC_MODEL),
        *_tokens(attrs),
        text_attr(attrs, sc.CC_REQUEST_ID),
        float_attr(attrs, sc.CC_TTFT_MS),
        bool_attr(attrs, sc.CC_SUCCESS),
        text_attr(attrs, sc.CC_DECISION),
        text_attr(attrs, sc.CC_DECISION_SOURCE),
        _prompt(attrs, capture_prompts),
        _rest(attrs, _SPAN_COLUMN_ATTRIBUTES),
        dumps(events) if events else None,
        resource if resource is not None else resource_json(span.resource),
    )
