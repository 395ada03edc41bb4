"""The general OTLP/JSON encoder: any ``ExportTraceServiceRequest`` (protobuf) -> OTLP/JSON bytes.

It applies the rules of the hook's lean encoder (``otlp_json``) to protobuf messages, so every
producer writes the same bytes for the same span: ids as lowercase hex, 64-bit integers as decimal
strings, enums as integers, fields at their default left out, keys in proto field order. The SDK
path (``spool_exporter``) and the collector's on-disk queue use it; protobuf's own ``MessageToDict``
is not used because it writes ids as base64 (forbidden by OTLP/JSON) and, by default, enum names.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.trace import ReadableSpan

from traceability.instrumentation.otlp_json import dumps


def any_value(value: AnyValue) -> dict[str, Any]:
    """A protobuf ``AnyValue`` as OTLP/JSON (the same shapes as ``otlp_json.any_value``)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return {"stringValue": value.string_value}
    if which == "bool_value":
        return {"boolValue": value.bool_value}
    if which == "int_value":
        return {"intValue": str(value.int_value)}
    if which == "double_value":
        return {"doubleValue": value.double_value}
    if which == "array_value":
        return {"arrayValue": {"values": [any_value(v) for v in value.array_value.values]}}
    if which == "kvlist_value":
        return {"kvlistValue": {"values": key_values(value.kvlist_value.values)}}
    if which == "bytes_value":
        return {"bytesValue": base64.b64encode(value.bytes_value).decode("ascii")}
    return {}


def key_values(kvs: Iterable[KeyValue]) -> list[dict[str, Any]]:
    return [{"key": kv.key, "value": any_value(kv.value)} for kv in kvs]


def _put_attributes(out: dict[str, Any], attributes: Sequence[KeyValue], dropped: int) -> None:
    """``attributes`` and ``droppedAttributesCount``, each left out at its default."""
    if attributes:
        out["attributes"] = key_values(attributes)
    if dropped:
        out["droppedAttributesCount"] = dropped


def _scope(scope: InstrumentationScope) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if scope.name:
        out["name"] = scope.name
    if scope.version:
        out["version"] = scope.version
    _put_attributes(out, scope.attributes, scope.dropped_attributes_count)
    return out


def _link(link: Span.Link) -> dict[str, Any]:
    out: dict[str, Any] = {"traceId": link.trace_id.hex(), "spanId": link.span_id.hex()}
    if link.trace_state:
        out["traceState"] = link.trace_state
    _put_attributes(out, link.attributes, link.dropped_attributes_count)
    if link.flags:
        out["flags"] = link.flags
    return out


def _event(event: Span.Event) -> dict[str, Any]:
    out: dict[str, Any] = {"timeUnixNano": str(event.time_unix_nano), "name": event.name}
    _put_attributes(out, event.attributes, event.dropped_attributes_count)
    return out


def span_dict(span: Span) -> dict[str, Any]:
    """One protobuf span as OTLP/JSON, keys in proto declaration order (as ``otlp_json.span_dict``)."""
    out: dict[str, Any] = {"traceId": span.trace_id.hex(), "spanId": span.span_id.hex()}
    if span.trace_state:
        out["traceState"] = span.trace_state
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id.hex()
    if span.flags:
        out["flags"] = span.flags
    out["name"] = span.name
    if span.kind:
        out["kind"] = span.kind
    out["startTimeUnixNano"] = str(span.start_time_unix_nano)
    out["endTimeUnixNano"] = str(span.end_time_unix_nano)
    _put_attributes(out, span.attributes, span.dropped_attributes_count)
    if span.events:
        out["events"] = [_event(e) for e in span.events]
    if span.dropped_events_count:
        out["droppedEventsCount"] = span.dropped_events_count
    if span.links:
        out["links"] = [_link(link) for link in span.links]
    if span.dropped_links_count:
        out["droppedLinksCount"] = span.dropped_links_count
    status: dict[str, Any] = {}
    if span.status.message:
        status["message"] = span.status.message
    if span.status.code:
        status["code"] = span.status.code
    out["status"] = status
    return out


def request_to_otlp_json(request: ExportTraceServiceRequest) -> bytes:
    """One OTLP/JSON ``ExportTraceServiceRequest`` (UTF-8, no newline)."""
    resource_spans = []
    for rs in request.resource_spans:
        resource: dict[str, Any] = {"attributes": key_values(rs.resource.attributes)}
        if rs.resource.dropped_attributes_count:
            resource["droppedAttributesCount"] = rs.resource.dropped_attributes_count
        scopes = []
        for ss in rs.scope_spans:
            scope_out: dict[str, Any] = {"scope": _scope(ss.scope), "spans": [span_dict(s) for s in ss.spans]}
            if ss.schema_url:
                scope_out["schemaUrl"] = ss.schema_url
            scopes.append(scope_out)
        rs_out: dict[str, Any] = {"resource": resource, "scopeSpans": scopes}
        if rs.schema_url:
            rs_out["schemaUrl"] = rs.schema_url
        resource_spans.append(rs_out)
    # A lone surrogate cannot be UTF-8: it becomes "?", as in the lean encoder.
    return dumps({"resourceSpans": resource_spans}).encode("utf-8", "replace")


def spans_to_otlp_json(spans: Sequence[ReadableSpan]) -> bytes:
    """SDK spans -> the OTel SDK's own protobuf encoding -> OTLP/JSON by the rules above."""
    return request_to_otlp_json(encode_spans(spans))
