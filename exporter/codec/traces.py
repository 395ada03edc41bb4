"""OTLP ``ExportTraceServiceRequest`` (protobuf or OTLP/JSON) -> SpanRecords, span by span.

A span that cannot be stored is rejected with a reason and the rest of the request is kept, so
the OTLP receiver can answer ``partial_success``. OTLP/JSON differs from protobuf's canonical JSON
mapping in one place that matters: trace and span ids are hex, not base64.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span

from traceability.exporter.codec.common import (
    MalformedRequest,
    Rejections,
    attributes,
    ids_to_base64,
    list_field,
    load_json,
    parse_dict,
    parse_protobuf,
    scope_name,
)
from traceability.exporter.codec.records import (
    SPAN_KINDS,
    STATUS_CODES,
    AttrValue,
    InvalidSpan,
    SpanEventRecord,
    SpanLinkRecord,
    SpanRecord,
)


@dataclass
class DecodedBatch(Rejections):
    spans: list[SpanRecord] = field(default_factory=list)


def _jsonable(value: AttrValue) -> Any:
    return list(value) if isinstance(value, tuple) else value


_ZERO_TRACE, _ZERO_SPAN = bytes(16), bytes(8)


def _hex_id(raw: bytes, size: int, zero: bytes, what: str) -> str:
    """The id as lowercase hex; raises InvalidSpan unless it has ``size`` bytes and is not all zero.

    Hex of bytes is always lowercase, so the length and the zero test are the whole rule.
    """
    if len(raw) != size or raw == zero:
        value = raw.hex()
        raise InvalidSpan(f"{what} must be {2 * size} hex digits and not all zero, got {value[:64]!r}")
    return raw.hex()


def _span_record(span: Span, resource: Mapping[str, AttrValue], scope_name: str) -> SpanRecord:
    # each field is read once: every read of a protobuf field builds a new Python object
    kind = span.kind
    status = span.status
    code = status.code
    parent = span.parent_span_id
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    events, links = span.events, span.links
    record = SpanRecord(
        trace_id=_hex_id(span.trace_id, 16, _ZERO_TRACE, "traceId"),
        span_id=_hex_id(span.span_id, 8, _ZERO_SPAN, "spanId"),
        parent_span_id=_hex_id(parent, 8, _ZERO_SPAN, "parentSpanId") if parent else None,
        name=span.name,
        kind=SPAN_KINDS[kind if 0 <= kind < len(SPAN_KINDS) else 0],
        start_time_unix_nano=start,
        end_time_unix_nano=end,
        status_code=STATUS_CODES[code if 0 <= code < len(STATUS_CODES) else 0],
        status_message=status.message,
        attributes=attributes(span.attributes),
        events=tuple(SpanEventRecord(e.name, e.time_unix_nano, attributes(e.attributes)) for e in events)
        if events
        else (),
        resource=resource,
        scope_name=scope_name,
        links=tuple(
            SpanLinkRecord(
                _hex_id(link.trace_id, 16, _ZERO_TRACE, "links.traceId"),
                _hex_id(link.span_id, 8, _ZERO_SPAN, "links.spanId"),
                attributes(link.attributes),
            )
            for link in links
        )
        if links
        else (),
    )
    if start <= 0:
        raise InvalidSpan("startTimeUnixNano must be set")
    if end < start:
        raise InvalidSpan("endTimeUnixNano is before startTimeUnixNano")
    return record


def _add_scope(batch: DecodedBatch, scope_spans: ScopeSpans, resource: Mapping[str, AttrValue]) -> None:
    name = scope_spans.scope.name
    append = batch.spans.append
    for span in scope_spans.spans:
        try:
            append(_span_record(span, resource, name))
        except InvalidSpan as exc:
            batch.reject(f"span {span.name[:80]!r}: {exc}")


def decode_request(request: ExportTraceServiceRequest) -> DecodedBatch:
    batch = DecodedBatch()
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            _add_scope(batch, scope_spans, resource)
    return batch


def decode_protobuf(body: bytes) -> DecodedBatch:
    request = ExportTraceServiceRequest()
    parse_protobuf(request, body, "ExportTraceServiceRequest")
    return decode_request(request)


_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _span_from_json(span_obj: Any) -> Span:
    if not isinstance(span_obj, dict):
        raise ValueError("a span must be an object")
    span_obj = ids_to_base64(span_obj, _ID_FIELDS)
    links = span_obj.get("links")
    if isinstance(links, list):
        span_obj["links"] = [
            ids_to_base64(link, _ID_FIELDS) if isinstance(link, dict) else link for link in links
        ]
    span: Span = parse_dict(span_obj, Span())
    return span


def decode_json_object(payload: Any) -> DecodedBatch:
    """Decode one OTLP/JSON ExportTraceServiceRequest object, span by span."""
    if not isinstance(payload, dict):
        raise MalformedRequest("OTLP/JSON body must be an object with resourceSpans")
    resource_spans_list = payload.get("resourceSpans", payload.get("resource_spans", []))
    if not isinstance(resource_spans_list, list):
        raise MalformedRequest("resourceSpans must be an array")
    batch = DecodedBatch()
    for rs in resource_spans_list:
        scope_list = list_field(rs, "scopeSpans", "scope_spans")
        if scope_list is None:
            batch.reject("resourceSpans entry is not an object with a scopeSpans array")
            continue
        try:
            resource = attributes(parse_dict(rs.get("resource") or {}, Resource()).attributes)
        except (ValueError, json_format.ParseError, RecursionError) as exc:
            batch.reject(f"invalid resource: {exc}", _count_spans(scope_list))
            continue
        for ss in scope_list:
            spans = ss.get("spans", []) if isinstance(ss, dict) else None
            if not isinstance(spans, list):
                batch.reject("scopeSpans entry is not an object with a spans array")
                continue
            name_of_scope = scope_name(ss)
            for span_obj in spans:
                try:
                    batch.spans.append(_span_record(_span_from_json(span_obj), resource, name_of_scope))
                except (ValueError, json_format.ParseError, RecursionError, InvalidSpan) as exc:
                    name = span_obj.get("name", "") if isinstance(span_obj, dict) else ""
                    batch.reject(f"span {str(name)[:80]!r}: {exc}")
    return batch


def _count_spans(scope_list: list[Any]) -> int:
    return sum(len(ss.get("spans", [])) for ss in scope_list if isinstance(ss, dict)) or 1


def decode_json(body: bytes) -> DecodedBatch:
    """Decode an OTLP/JSON body (one request). Invalid UTF-8 is replaced, never fatal."""
    return decode_json_object(load_json(body))


def attribute_kv(key: str, value: Any) -> KeyValue:
    """An OTLP attribute (KeyValue) for a Python value; lists become arrays."""
    kv = KeyValue(key=key)
    _set_any(kv.value, value)
    return kv


def _set_any(target: AnyValue, value: Any) -> None:
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, list | tuple):
        for item in value:
            _set_any(target.array_value.values.add(), item)
    elif value is not None:
        target.string_value = str(value)


def _hex_to_bytes(value: str | None) -> bytes:
    return binascii.unhexlify(value) if value else b""


def records_to_request(spans: list[SpanRecord]) -> ExportTraceServiceRequest:
    """SpanRecords back to one request (used to queue accepted spans on disk as OTLP/JSON)."""
    request = ExportTraceServiceRequest()
    groups: dict[str, list[SpanRecord]] = {}
    for span in spans:
        key = json.dumps({k: _jsonable(v) for k, v in span.resource.items()}, sort_keys=True)
        groups.setdefault(key, []).append(span)
    for members in groups.values():
        rs = request.resource_spans.add()
        rs.resource.attributes.extend(attribute_kv(k, v) for k, v in members[0].resource.items())
        ss = rs.scope_spans.add()
        ss.scope.name = members[0].scope_name
        for record in members:
            span = ss.spans.add()
            span.trace_id = _hex_to_bytes(record.trace_id)
            span.span_id = _hex_to_bytes(record.span_id)
            span.parent_span_id = _hex_to_bytes(record.parent_span_id)
            span.name = record.name
            span.kind = SPAN_KINDS.index(record.kind)
            span.start_time_unix_nano = record.start_time_unix_nano
            span.end_time_unix_nano = record.end_time_unix_nano
            span.status.code = STATUS_CODES.index(record.status_code)
            span.status.message = record.status_message
            span.attributes.extend(attribute_kv(k, v) for k, v in record.attributes.items())
            for event in record.events:
                ev = span.events.add()
                ev.name = event.name
                ev.time_unix_nano = event.time_unix_nano
                ev.attributes.extend(attribute_kv(k, v) for k, v in event.attributes.items())
            for link in record.links:
                out = span.links.add(
                    trace_id=_hex_to_bytes(link.trace_id), span_id=_hex_to_bytes(link.span_id)
                )
                out.attributes.extend(attribute_kv(k, v) for k, v in link.attributes.items())
    return request
