"""SpanRecord -> rows of ``execution_traces`` and ``hook_executions`` (see the span contract).

A trace's root span (``traceability.span.type == "turn"``, or no parent) becomes its
``execution_traces`` row; every other span becomes a ``hook_executions`` row. Row ids are derived
from the OTel ids, so the same span always maps to the same row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from traceability.exporter.codec.records import AttrValue, SpanRecord
from traceability.exporter.storage.limits import (
    DEFAULT_MAX_SPAN_STORED_BYTES,
    stored_bytes,
)
from traceability.exporter.storage.values import (
    bool_value,
    clean_text,
    dumps,
    float_value,
    hook_row_id,
    indexed_text_value,
    int_value,
    json_value,
    parse_uuid,
    resource_json,
    session_uuid,
    text_attr,
    text_value,
    to_datetime,
    trace_uuid,
)
from traceability.instrumentation import semconv as sc

_FAILED_STATUSES = frozenset({sc.STATUS_FAILED, sc.STATUS_BLOCKED})


def _duration_ms(span: SpanRecord) -> int:
    return min(round((span.end_time_unix_nano - span.start_time_unix_nano) / 1e6), 2**31 - 1)


def _exception(span: SpanRecord) -> Mapping[str, AttrValue]:
    for event in span.events:
        if event.name == sc.EXCEPTION_EVENT_NAME:
            return event.attributes
    return {}


# Attributes stored in a column of their own, in the order ``trace_row`` / ``hook_row`` unpack them;
# the ``attributes`` jsonb keeps every other one, so each value is stored once (and the ingest path
# encodes less JSON). One pass over a span's attributes sorts them (``_split``): no lookup per column.
_TRACE_SLOTS = {key: i for i, key in enumerate((
    sc.SPAN_TYPE, sc.ROOT_ID, sc.PARENT_ID, sc.SESSION_ID, sc.USER_ID, sc.SOURCE, sc.PROMPT_TEXT,
    sc.PROMPT_ID, sc.TRACE_STATUS, sc.SUCCESS, sc.ERROR_TYPE, sc.CONTEXT, sc.TAGS,
))}  # fmt: skip
_HOOK_SLOTS = {key: i for i, key in enumerate((
    sc.SPAN_TYPE, sc.HOOK_TYPE, sc.HOOK_NAME, sc.EXECUTION_ORDER, sc.GEN_AI_TOOL_NAME, sc.CODE_FILE_PATH,
    sc.STATUS, sc.SUCCESS, sc.INPUT_DATA, sc.OUTPUT_DATA, sc.MODIFICATIONS, sc.METADATA,
    sc.QUALITY_PERFORMED, sc.QUALITY_RESULTS, sc.QUALITY_SCORE, sc.RAG_PERFORMED, sc.RAG_RESULTS,
    sc.ERROR_MESSAGE, sc.ERROR_TYPE, sc.ERROR_STACK, sc.SESSION_ID, sc.PROMPT_ID, sc.GEN_AI_TOOL_CALL_ID,
    sc.GEN_AI_AGENT_ID, sc.DURATION_MS,
))}  # fmt: skip


def _split(
    attrs: Mapping[str, AttrValue], slots: Mapping[str, int]
) -> tuple[list[AttrValue], dict[str, Any]]:
    """The raw values of the column attributes, by slot (None when absent), and every other attribute."""
    values: list[AttrValue] = [None] * len(slots)
    other: dict[str, Any] = {}
    for key, value in attrs.items():
        slot = slots.get(key)
        if slot is None:
            other[key] = list(value) if isinstance(value, tuple) else value
        else:
            values[slot] = value
    return values, other


def _attributes_json(other: dict[str, Any], whole: Mapping[str, AttrValue]) -> str | None:
    """The ``attributes`` jsonb: the attributes no column holds, and the whole values of shortened columns."""
    if whole:
        other.update(whole)
    return dumps(other) if other else "{}"  # most spans: every attribute has a column


def _events(span: SpanRecord) -> list[dict[str, Any]] | None:
    if not span.events:
        return None
    return [
        {
            "name": e.name,
            "time_unix_nano": e.time_unix_nano,
            "attributes": {k: list(v) if isinstance(v, tuple) else v for k, v in e.attributes.items()},
        }
        for e in span.events
    ]


def _links(span: SpanRecord) -> list[dict[str, Any]] | None:
    """Span links as stored in the ``links`` jsonb columns (None when the span has none)."""
    if not span.links:
        return None
    return [
        {
            "trace_id": link.trace_id,
            "span_id": link.span_id,
            "attributes": {k: list(v) if isinstance(v, tuple) else v for k, v in link.attributes.items()},
        }
        for link in span.links
    ]


def is_root(span: SpanRecord) -> bool:
    kind = span.attributes.get(sc.SPAN_TYPE)
    if kind is not None:
        return kind == sc.SPAN_TYPE_TURN
    return span.parent_span_id is None


def _tags(value: AttrValue) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return [clean_text(str(v)) for v in value]
    return [clean_text(str(value))]


@dataclass(frozen=True, slots=True)
class TraceRow:
    """Column values of one execution_traces row, in TRACE_COLUMNS order."""

    values: tuple[Any, ...]

    @property
    def id(self) -> uuid.UUID:
        trace_id: uuid.UUID = self.values[0]
        return trace_id


@dataclass(frozen=True, slots=True)
class HookRow:
    """Column values of one hook_executions row, in HOOK_COLUMNS order."""

    values: tuple[Any, ...]

    @property
    def trace_id(self) -> uuid.UUID:
        trace_id: uuid.UUID = self.values[1]
        return trace_id


TRACE_COLUMNS = (
    "id", "correlation_id", "root_id", "parent_id", "session_id", "session_key", "user_id", "source",
    "prompt_text", "prompt_id", "started_at", "completed_at", "duration_ms", "status", "success",
    "error_message", "error_type", "context", "tags", "root_span_id", "service_name", "span_name",
    "status_code", "status_message", "attributes", "resource", "links",
)  # fmt: skip
TRACE_JSON_COLUMNS = frozenset({"context", "attributes", "resource", "links"})

HOOK_COLUMNS = (
    "id", "trace_id", "hook_type", "hook_name", "execution_order", "tool_name", "file_path",
    "started_at", "completed_at", "duration_ms", "status", "input_data", "output_data",
    "modifications_made", "rag_query_performed", "rag_results", "quality_check_performed",
    "quality_results", "error_message", "error_type", "error_stack", "metadata", "span_id",
    "parent_span_id", "span_name", "span_kind", "span_type", "status_code", "status_message",
    "session_id", "prompt_id", "tool_use_id", "agent_id", "tool_duration_ms", "quality_score",
    "success", "service_name", "attributes", "events", "resource", "links",
)  # fmt: skip
HOOK_JSON_COLUMNS = frozenset(
    {"input_data", "output_data", "modifications_made", "rag_results", "quality_results", "metadata",
     "attributes", "events", "resource", "links"}
)  # fmt: skip


def trace_row(span: SpanRecord, resource: str | None = None) -> TraceRow:
    """``resource``: the resource's JSON when the caller already has it (spans of a request share one)."""
    (_, root_id, parent_id, session, user_id, source, prompt_text, prompt_id, trace_status, success_attr,
     error_type, context, tags), other = _split(span.attributes, _TRACE_SLOTS)  # fmt: skip
    trace_id = trace_uuid(span.trace_id)
    exc = _exception(span)
    whole: dict[str, AttrValue] = {}
    status = indexed_text_value(trace_status, sc.TRACE_STATUS, whole) or (
        sc.TRACE_STATUS_FAILED if span.status_code == "ERROR" else sc.TRACE_STATUS_COMPLETED
    )
    success = bool_value(success_attr)
    if success is None:
        success = status == sc.TRACE_STATUS_COMPLETED
    session_id, session_key = session_uuid(text_value(session))
    name = clean_text(span.name)
    status_message = clean_text(span.status_message)
    return TraceRow(
        (
            trace_id,
            trace_id,
            parse_uuid(text_value(root_id)) or trace_id,
            parse_uuid(text_value(parent_id)),
            session_id,
            session_key,
            indexed_text_value(user_id, sc.USER_ID, whole),  # derivation indexes it (pattern_execution_keys)
            text_value(source) or name or "unknown",
            text_value(prompt_text),
            indexed_text_value(prompt_id, sc.PROMPT_ID, whole),
            to_datetime(span.start_time_unix_nano),
            to_datetime(span.end_time_unix_nano),
            _duration_ms(span),
            status,
            success,
            status_message or text_attr(exc, sc.EXCEPTION_MESSAGE),
            text_value(error_type) or text_attr(exc, sc.EXCEPTION_TYPE),
            json_value(context),
            _tags(tags),
            span.span_id,
            text_attr(span.resource, sc.SERVICE_NAME),
            name,
            span.status_code,
            status_message or None,
            _attributes_json(other, whole),
            resource if resource is not None else resource_json(span.resource),
            dumps(_links(span)),
        )
    )


def _scalar_results(attrs: Mapping[str, AttrValue], keys: Mapping[str, str]) -> dict[str, Any] | None:
    if attrs.keys().isdisjoint(keys.values()):  # the common case, checked without a Python loop
        return None
    found = {name: attrs[key] for name, key in keys.items() if key in attrs}
    return found or None


_QUALITY_SCALARS = {
    "quality_score": sc.QUALITY_SCORE,
    "violations_found": sc.QUALITY_VIOLATIONS,
    "corrections_applied": sc.QUALITY_CORRECTIONS,
    "decision": sc.QUALITY_DECISION,
}
_RAG_SCALARS = {
    "matches": sc.RAG_MATCHES,
    "confidence": sc.RAG_CONFIDENCE,
    "top_pattern": sc.RAG_TOP_PATTERN,
    "error": sc.RAG_ERROR,
}


def hook_row(span: SpanRecord, resource: str | None = None) -> HookRow:
    """``resource``: the resource's JSON when the caller already has it (spans of a request share one)."""
    attrs = span.attributes
    (span_type, hook_type, hook_name, execution_order, tool_name, file_path, status_attr, success_attr,
     input_data, output_data, modifications, metadata, quality_performed, quality_attr, quality_score,
     rag_performed, rag_attr, error_message, error_type, error_stack, session, prompt_id, tool_call_id,
     agent_id, tool_duration), other = _split(attrs, _HOOK_SLOTS)  # fmt: skip
    exc = _exception(span)
    whole: dict[str, AttrValue] = {}
    span_type_text = text_value(span_type)
    status = text_value(status_attr) or (
        sc.STATUS_FAILED if span.status_code == "ERROR" else sc.STATUS_COMPLETED
    )
    success = bool_value(success_attr)
    if success is None:
        success = status not in _FAILED_STATUSES
    quality_results = json_value(quality_attr) or dumps(_scalar_results(attrs, _QUALITY_SCALARS))
    rag_results = json_value(rag_attr) or dumps(_scalar_results(attrs, _RAG_SCALARS))
    quality_done = bool_value(quality_performed)
    rag_done = bool_value(rag_performed)
    name = clean_text(span.name)
    status_message = clean_text(span.status_message)
    return HookRow(
        (
            hook_row_id(span.trace_id, span.span_id),
            trace_uuid(span.trace_id),
            text_value(hook_type) or span_type_text or "span",
            text_value(hook_name) or name,
            int_value(execution_order) or 0,
            text_value(tool_name),
            indexed_text_value(file_path, sc.CODE_FILE_PATH, whole),  # derivation indexes it
            to_datetime(span.start_time_unix_nano),
            to_datetime(span.end_time_unix_nano),
            _duration_ms(span),
            status,
            json_value(input_data),
            json_value(output_data),
            json_value(modifications),
            rag_done if rag_done is not None else rag_results is not None,
            rag_results,
            quality_done if quality_done is not None else quality_results is not None,
            quality_results,
            text_value(error_message)
            or status_message
            or (text_attr(exc, sc.EXCEPTION_MESSAGE) if exc else None),
            text_value(error_type) or (text_attr(exc, sc.EXCEPTION_TYPE) if exc else None),
            text_value(error_stack) or (text_attr(exc, sc.EXCEPTION_STACKTRACE) if exc else None),
            json_value(metadata),
            span.span_id,
            span.parent_span_id,
            name,
            span.kind,
            span_type_text,
            span.status_code,
            status_message or None,
            indexed_text_value(session, sc.SESSION_ID, whole),
            indexed_text_value(
                prompt_id, sc.PROMPT_ID, whole
            ),  # joined to Claude Code's own (indexed) prompt ids
            indexed_text_value(tool_call_id, sc.GEN_AI_TOOL_CALL_ID, whole),
            text_value(agent_id),
            float_value(tool_duration),
            float_value(quality_score),
            success,
            text_attr(span.resource, sc.SERVICE_NAME),
            _attributes_json(other, whole),
            dumps(_events(span)) if span.events else None,
            resource if resource is not None else resource_json(span.resource),
            dumps(_links(span)) if span.links else None,
        )
    )


def placeholder_trace_row(trace_id_hex: str, first_child: SpanRecord) -> TraceRow:
    """The in_progress row a child creates when its root has not arrived yet."""
    trace_id = trace_uuid(trace_id_hex)
    session_id, session_key = session_uuid(text_attr(first_child.attributes, sc.SESSION_ID))
    values: dict[str, Any] = dict.fromkeys(TRACE_COLUMNS)
    values.update(
        id=trace_id,
        correlation_id=trace_id,
        root_id=trace_id,
        session_id=session_id,
        session_key=session_key,
        source="unknown",
        prompt_id=indexed_text_value(first_child.attributes.get(sc.PROMPT_ID), sc.PROMPT_ID, {}),
        started_at=to_datetime(first_child.start_time_unix_nano),
        status=sc.TRACE_STATUS_IN_PROGRESS,
        service_name=text_attr(first_child.resource, sc.SERVICE_NAME),
    )
    return TraceRow(tuple(values[c] for c in TRACE_COLUMNS))


_Row = TypeVar("_Row", TraceRow, HookRow)


@dataclass(frozen=True, slots=True)
class MappedBatch:
    roots: list[TraceRow]
    placeholders: list[TraceRow]
    hooks: list[HookRow]
    rejected: list[tuple[SpanRecord, str]] = field(default_factory=list)


def _checked(row: _Row, span: SpanRecord, max_span_bytes: int) -> _Row:
    size = stored_bytes(row.values, max_span_bytes, text_arrays=isinstance(row, TraceRow))  # tags
    if size > max_span_bytes:
        raise SpanTooLarge(
            f"span {span.span_id} would store {size} bytes, over the {max_span_bytes} byte per-span cap"
        )
    return row


class SpanTooLarge(ValueError):
    """A span over the per-span stored-size cap (it is rejected alone)."""


def map_spans(
    spans: Iterable[SpanRecord], max_span_bytes: int = DEFAULT_MAX_SPAN_STORED_BYTES
) -> MappedBatch:
    """Rows for a batch; a trace whose root is not in the batch gets a placeholder row.

    A span that cannot be mapped (over ``max_span_bytes`` stored, or any data this code cannot
    map) is rejected alone, with the reason, and the rest of the batch is kept.
    """
    roots: dict[uuid.UUID, TraceRow] = {}
    hooks: dict[uuid.UUID, HookRow] = {}
    first_child: dict[str, SpanRecord] = {}
    rejected: list[tuple[SpanRecord, str]] = []
    resources: dict[int, str | None] = {}  # by identity: the spans of one request share one mapping
    for span in spans:
        try:
            key = id(span.resource)
            if key not in resources:
                resources[key] = resource_json(span.resource)
            if is_root(span):
                row = _checked(trace_row(span, resources[key]), span, max_span_bytes)
                roots[row.id] = row
            else:
                hrow = _checked(hook_row(span, resources[key]), span, max_span_bytes)
                hooks[hrow.values[0]] = hrow
                first_child.setdefault(span.trace_id, span)
        except Exception as exc:  # the span's data is at fault: reject it, keep the rest
            rejected.append((span, f"{type(exc).__name__}: {str(exc)[:300]}"))
    placeholders = [
        placeholder_trace_row(trace_hex, child)
        for trace_hex, child in first_child.items()
        if trace_uuid(trace_hex) not in roots
    ]
    return MappedBatch(list(roots.values()), placeholders, list(hooks.values()), rejected)
