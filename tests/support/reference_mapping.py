"""The span -> row mapping as it was before the single-pass fast path (kept only as the test oracle).

``tests/exporter/test_fast_mapping.py`` checks that ``storage.mapping`` produces exactly these rows
for a varied corpus of spans. It reads attributes one lookup at a time, as the old code did, and
uses only the low-level value rules (clean text, JSON text, ids, times) of the storage layer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from traceability.exporter.codec.records import AttrValue, SpanRecord
from traceability.exporter.storage.limits import (
    DEFAULT_MAX_SPAN_STORED_BYTES,
    finite_or_none,
    index_safe_text,
    stored_bytes,
)
from traceability.exporter.storage.mapping import (
    TRACE_COLUMNS,
    HookRow,
    MappedBatch,
    SpanTooLarge,
    TraceRow,
)
from traceability.exporter.storage.values import (
    ROW_NAMESPACE,
    clean_text,
    dumps,
    parse_uuid,
    resource_json,
    session_uuid,
    to_datetime,
    trace_uuid,
)
from traceability.instrumentation import semconv as sc


def json_attr(attrs: Mapping[str, AttrValue], key: str) -> str | None:
    raw = attrs.get(key)
    if raw is None:
        return None
    if isinstance(raw, str):
        try:  # NaN / Infinity are not JSON: such text is kept as a string, not nulled
            parsed = json.loads(raw, parse_constant=_not_json)
        except ValueError:
            return dumps(raw)
        if _jsonb_safe(raw):
            return raw
        return dumps(parsed)
    return dumps(raw)


def text_attr(attrs: Mapping[str, AttrValue], key: str) -> str | None:
    value = attrs.get(key)
    if value is None:
        return None
    return clean_text(value if isinstance(value, str) else str(value))


def indexed_text_attr(attrs: Mapping[str, AttrValue], key: str, whole: dict[str, AttrValue]) -> str | None:
    value = text_attr(attrs, key)
    if value is None:
        return None
    safe = index_safe_text(value)
    if safe is not value:
        whole[key] = value
    return safe


def bool_attr(attrs: Mapping[str, AttrValue], key: str) -> bool | None:
    value = attrs.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    if isinstance(value, int | float):
        return bool(value)
    return None


def float_attr(attrs: Mapping[str, AttrValue], key: str) -> float | None:
    value = attrs.get(key)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return finite_or_none(float(value))
    if not isinstance(value, str):  # an array
        return None
    try:
        return finite_or_none(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def int_attr(attrs: Mapping[str, AttrValue], key: str) -> int | None:
    value = float_attr(attrs, key)
    if value is None or not -(2**31) <= value < 2**31:
        return None
    return int(value)


def _jsonb_safe(text: str) -> bool:
    if "\\u0000" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def hook_row_id(trace_id_hex: str, span_id_hex: str) -> uuid.UUID:
    return uuid.uuid5(ROW_NAMESPACE, trace_id_hex + span_id_hex)


_FAILED_STATUSES = frozenset({sc.STATUS_FAILED, sc.STATUS_BLOCKED})


def _duration_ms(span: SpanRecord) -> int:
    return min(round((span.end_time_unix_nano - span.start_time_unix_nano) / 1e6), 2**31 - 1)


def _exception(span: SpanRecord) -> Mapping[str, AttrValue]:
    for event in span.events:
        if event.name == sc.EXCEPTION_EVENT_NAME:
            return event.attributes
    return {}


# Attributes stored in a column of their own; the ``attributes`` jsonb keeps every other one, so
# each value is stored once (and the ingest path encodes less JSON).
_TRACE_COLUMN_ATTRIBUTES = frozenset(
    {
        sc.SPAN_TYPE, sc.ROOT_ID, sc.PARENT_ID, sc.SESSION_ID, sc.USER_ID, sc.SOURCE, sc.PROMPT_TEXT,
        sc.PROMPT_ID, sc.TRACE_STATUS, sc.SUCCESS, sc.ERROR_TYPE, sc.CONTEXT, sc.TAGS,
    }
)  # fmt: skip
_HOOK_COLUMN_ATTRIBUTES = frozenset(
    {
        sc.SPAN_TYPE, sc.HOOK_TYPE, sc.HOOK_NAME, sc.EXECUTION_ORDER, sc.GEN_AI_TOOL_NAME, sc.CODE_FILE_PATH,
        sc.STATUS, sc.SUCCESS, sc.INPUT_DATA, sc.OUTPUT_DATA, sc.MODIFICATIONS, sc.METADATA,
        sc.QUALITY_PERFORMED, sc.QUALITY_RESULTS, sc.QUALITY_SCORE, sc.RAG_PERFORMED, sc.RAG_RESULTS,
        sc.ERROR_MESSAGE, sc.ERROR_TYPE, sc.ERROR_STACK, sc.SESSION_ID, sc.PROMPT_ID, sc.GEN_AI_TOOL_CALL_ID,
        sc.GEN_AI_AGENT_ID, sc.DURATION_MS,
    }
)  # fmt: skip


def _other_attributes(
    span: SpanRecord, in_columns: frozenset[str], whole: Mapping[str, AttrValue]
) -> dict[str, Any]:
    """The span's attributes that no column holds, and the whole values of shortened columns."""
    out: dict[str, Any] = {
        k: list(v) if isinstance(v, tuple) else v for k, v in span.attributes.items() if k not in in_columns
    }
    if whole:
        out.update(whole)
    return out


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


def _tags(attrs: Mapping[str, AttrValue]) -> list[str] | None:
    value = attrs.get(sc.TAGS)
    if value is None:
        return None
    if isinstance(value, tuple):
        return [clean_text(str(v)) for v in value]
    return [clean_text(str(value))]


def trace_row(span: SpanRecord, resource: str | None = None) -> TraceRow:
    attrs = span.attributes
    trace_id = trace_uuid(span.trace_id)
    exc = _exception(span)
    whole: dict[str, AttrValue] = {}
    status = indexed_text_attr(attrs, sc.TRACE_STATUS, whole) or (
        sc.TRACE_STATUS_FAILED if span.status_code == "ERROR" else sc.TRACE_STATUS_COMPLETED
    )
    success = bool_attr(attrs, sc.SUCCESS)
    if success is None:
        success = status == sc.TRACE_STATUS_COMPLETED
    session_id, session_key = session_uuid(text_attr(attrs, sc.SESSION_ID))
    error_message = clean_text(span.status_message) or text_attr(exc, sc.EXCEPTION_MESSAGE)
    return TraceRow(
        (
            trace_id,
            trace_id,
            parse_uuid(text_attr(attrs, sc.ROOT_ID)) or trace_id,
            parse_uuid(text_attr(attrs, sc.PARENT_ID)),
            session_id,
            session_key,
            indexed_text_attr(attrs, sc.USER_ID, whole),  # derivation indexes it (pattern_execution_keys)
            text_attr(attrs, sc.SOURCE) or clean_text(span.name) or "unknown",
            text_attr(attrs, sc.PROMPT_TEXT),
            indexed_text_attr(attrs, sc.PROMPT_ID, whole),
            to_datetime(span.start_time_unix_nano),
            to_datetime(span.end_time_unix_nano),
            _duration_ms(span),
            status,
            success,
            error_message,
            text_attr(attrs, sc.ERROR_TYPE) or text_attr(exc, sc.EXCEPTION_TYPE),
            json_attr(attrs, sc.CONTEXT),
            _tags(attrs),
            span.span_id,
            text_attr(span.resource, sc.SERVICE_NAME),
            clean_text(span.name),
            span.status_code,
            clean_text(span.status_message) or None,
            dumps(_other_attributes(span, _TRACE_COLUMN_ATTRIBUTES, whole)),
            resource if resource is not None else resource_json(span.resource),
            dumps(_links(span)),
        )
    )


def _scalar_results(attrs: Mapping[str, AttrValue], keys: Mapping[str, str]) -> dict[str, Any] | None:
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
    attrs = span.attributes
    exc = _exception(span)
    whole: dict[str, AttrValue] = {}
    span_type = text_attr(attrs, sc.SPAN_TYPE)
    status = text_attr(attrs, sc.STATUS) or (
        sc.STATUS_FAILED if span.status_code == "ERROR" else sc.STATUS_COMPLETED
    )
    success = bool_attr(attrs, sc.SUCCESS)
    if success is None:
        success = status not in _FAILED_STATUSES
    quality_results = json_attr(attrs, sc.QUALITY_RESULTS) or dumps(_scalar_results(attrs, _QUALITY_SCALARS))
    rag_results = json_attr(attrs, sc.RAG_RESULTS) or dumps(_scalar_results(attrs, _RAG_SCALARS))
    quality_performed = bool_attr(attrs, sc.QUALITY_PERFORMED)
    rag_performed = bool_attr(attrs, sc.RAG_PERFORMED)
    return HookRow(
        (
            hook_row_id(span.trace_id, span.span_id),
            trace_uuid(span.trace_id),
            text_attr(attrs, sc.HOOK_TYPE) or span_type or "span",
            text_attr(attrs, sc.HOOK_NAME) or clean_text(span.name),
            int_attr(attrs, sc.EXECUTION_ORDER) or 0,
            text_attr(attrs, sc.GEN_AI_TOOL_NAME),
            indexed_text_attr(attrs, sc.CODE_FILE_PATH, whole),  # derivation indexes it
            to_datetime(span.start_time_unix_nano),
            to_datetime(span.end_time_unix_nano),
            _duration_ms(span),
            status,
            json_attr(attrs, sc.INPUT_DATA),
            json_attr(attrs, sc.OUTPUT_DATA),
            json_attr(attrs, sc.MODIFICATIONS),
            rag_performed if rag_performed is not None else rag_results is not None,
            rag_results,
            quality_performed if quality_performed is not None else quality_results is not None,
            quality_results,
            text_attr(attrs, sc.ERROR_MESSAGE)
            or clean_text(span.status_message)
            or text_attr(exc, sc.EXCEPTION_MESSAGE),
            text_attr(attrs, sc.ERROR_TYPE) or text_attr(exc, sc.EXCEPTION_TYPE),
            text_attr(attrs, sc.ERROR_STACK) or text_attr(exc, sc.EXCEPTION_STACKTRACE),
            json_attr(attrs, sc.METADATA),
            span.span_id,
            span.parent_span_id,
            clean_text(span.name),
            span.kind,
            span_type,
            span.status_code,
            clean_text(span.status_message) or None,
            indexed_text_attr(attrs, sc.SESSION_ID, whole),
            indexed_text_attr(attrs, sc.PROMPT_ID, whole),  # joined to Claude Code's own (indexed) prompt ids
            indexed_text_attr(attrs, sc.GEN_AI_TOOL_CALL_ID, whole),
            text_attr(attrs, sc.GEN_AI_AGENT_ID),
            float_attr(attrs, sc.DURATION_MS),
            float_attr(attrs, sc.QUALITY_SCORE),
            success,
            text_attr(span.resource, sc.SERVICE_NAME),
            dumps(_other_attributes(span, _HOOK_COLUMN_ATTRIBUTES, whole)),
            dumps(_events(span)),
            resource if resource is not None else resource_json(span.resource),
            dumps(_links(span)),
        )
    )


def placeholder_trace_row(trace_id_hex: str, first_child: SpanRecord) -> TraceRow:
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
        prompt_id=indexed_text_attr(first_child.attributes, sc.PROMPT_ID, {}),
        started_at=to_datetime(first_child.start_time_unix_nano),
        status=sc.TRACE_STATUS_IN_PROGRESS,
        service_name=text_attr(first_child.resource, sc.SERVICE_NAME),
    )
    return TraceRow(tuple(values[c] for c in TRACE_COLUMNS))


def _checked(row: Any, span: SpanRecord, max_span_bytes: int) -> Any:
    size = stored_bytes(row.values, max_span_bytes)
    if size > max_span_bytes:
        raise SpanTooLarge(
            f"span {span.span_id} would store {size} bytes, over the {max_span_bytes} byte per-span cap"
        )
    return row


def map_spans(
    spans: Iterable[SpanRecord], max_span_bytes: int = DEFAULT_MAX_SPAN_STORED_BYTES
) -> MappedBatch:
    """Rows for a batch, a placeholder per trace whose root is not in it; bad spans rejected alone."""
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
