"""OTLP ``ExportTraceServiceRequest`` (protobuf or OTLP/JSON) -> SpanRecords, span by span.

A span that cannot be stored is rejected with a reason and the rest of the request is kept, so
the OTLP receiver can answer ``partial_success``. OTLP/JSON differs from protobuf's canonical JSON
mapping in one place that matters: trace and span ids are hex, not base64.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span

from traceability.exporter.records import (
    SPAN_KINDS,
    STATUS_CODES,
    AttrValue,
    InvalidSpan,
    SpanEventRecord,
    SpanLinkRecord,
    SpanRecord,
    validate,
)

MAX_ATTRIBUTE_DEPTH = 8


class MalformedRequest(ValueError):
    """The request as a whole cannot be decoded (the receiver answers 400 with this message)."""


@dataclass
class DecodedBatch:
    spans: list[SpanRecord] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected += count
        if len(self.errors) < 10:
            self.errors.append(reason)

    @property
    def error_message(self) -> str:
        return "; ".join(self.errors)


_SCALAR_FIELDS = frozenset({"string_value", "bool_value", "int_value", "double_value"})


def _any_value(value: AnyValue, depth: int = 0) -> AttrValue:
    which = value.WhichOneof("value")
    if which in _SCALAR_FIELDS:
        return getattr(value, which)
    if which == "bytes_value":
        return value.bytes_value.hex()
    if depth >= MAX_ATTRIBUTE_DEPTH:
        return None
    if which == "array_value":
        return tuple(_any_value(v, depth + 1) for v in value.array_value.values)
    if which == "kvlist_value":
        # OTel attributes cannot nest; keep the structure as JSON text, encoded once at this
        # level (nested kvlists are plain values inside it, not JSON strings inside JSON
        # strings, whose escaping would double at every level).
        return json.dumps(_plain(value, depth), ensure_ascii=False, allow_nan=False, default=str)
    return None


def _plain(value: AnyValue, depth: int) -> Any:
    """An AnyValue as a plain JSON-able Python value (kvlists become dicts); non-finite -> None."""
    which = value.WhichOneof("value")
    if which == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else None
    if which in _SCALAR_FIELDS:
        return getattr(value, which)
    if which == "bytes_value":
        return value.bytes_value.hex()
    if depth >= MAX_ATTRIBUTE_DEPTH:
        return None
    if which == "array_value":
        return [_plain(v, depth + 1) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _plain(kv.value, depth + 1) for kv in value.kvlist_value.values}
    return None


def _jsonable(value: AttrValue) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _attributes(kvs: Any) -> dict[str, AttrValue]:
    out: dict[str, AttrValue] = {}
    for kv in kvs:
        value = kv.value
        # strings are most attributes: read them without the generic dispatch (ingest hot path)
        out[kv.key] = value.string_value if value.WhichOneof("value") == "string_value" else _any_value(value)
    return out


def _span_record(span: Span, resource: Mapping[str, AttrValue], scope_name: str) -> SpanRecord:
    kind = span.kind if 0 <= span.kind < len(SPAN_KINDS) else 0
    code = span.status.code if 0 <= span.status.code < len(STATUS_CODES) else 0
    return validate(
        SpanRecord(
            trace_id=span.trace_id.hex(),
            span_id=span.span_id.hex(),
            parent_span_id=span.parent_span_id.hex() or None,
            name=span.name,
            kind=SPAN_KINDS[kind],
            start_time_unix_nano=span.start_time_unix_nano,
            end_time_unix_nano=span.end_time_unix_nano,
            status_code=STATUS_CODES[code],
            status_message=span.status.message,
            attributes=_attributes(span.attributes),
            events=tuple(
                SpanEventRecord(e.name, e.time_unix_nano, _attributes(e.attributes)) for e in span.events
            ),
            resource=resource,
            scope_name=scope_name,
            links=tuple(
                SpanLinkRecord(link.trace_id.hex(), link.span_id.hex(), _attributes(link.attributes))
                for link in span.links
            ),
        )
    )


def _add_scope(batch: DecodedBatch, scope_spans: ScopeSpans, resource: Mapping[str, AttrValue]) -> None:
    for span in scope_spans.spans:
        try:
            batch.spans.append(_span_record(span, resource, scope_spans.scope.name))
        except InvalidSpan as exc:
            batch.reject(f"span {span.name[:80]!r}: {exc}")


def decode_request(request: ExportTraceServiceRequest) -> DecodedBatch:
    batch = DecodedBatch()
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            _add_scope(batch, scope_spans, resource)
    return batch


def decode_protobuf(body: bytes) -> DecodedBatch:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise MalformedRequest(f"body is not a valid OTLP ExportTraceServiceRequest protobuf: {exc}") from exc
    return decode_request(request)


_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _hex_ids_to_base64(obj: dict[str, Any]) -> None:
    """OTLP/JSON carries ids as hex; protobuf's JSON parser expects base64. Raises ValueError."""
    for key in _ID_FIELDS:
        value = obj.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a hex string")
        try:
            obj[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
        except ValueError:
            raise ValueError(f"{key} is not hex: {value[:64]!r}") from None


def _parse(message_dict: Any, message: Any) -> Any:
    if not isinstance(message_dict, dict):
        raise ValueError(f"expected an object, got {type(message_dict).__name__}")
    return json_format.ParseDict(message_dict, message, ignore_unknown_fields=True)


def _span_from_json(span_obj: Any) -> Span:
    if not isinstance(span_obj, dict):
        raise ValueError("a span must be an object")
    span_obj = dict(span_obj)
    _hex_ids_to_base64(span_obj)
    for key in ("links",):
        links = span_obj.get(key)
        if isinstance(links, list):
            fixed = []
            for link in links:
                if isinstance(link, dict):
                    link = dict(link)
                    _hex_ids_to_base64(link)
                fixed.append(link)
            span_obj[key] = fixed
    span: Span = _parse(span_obj, Span())
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
        scope_list = rs.get("scopeSpans", rs.get("scope_spans", [])) if isinstance(rs, dict) else None
        if not isinstance(scope_list, list):
            batch.reject("resourceSpans entry is not an object with a scopeSpans array")
            continue
        try:
            resource = _attributes(_parse(rs.get("resource") or {}, Resource()).attributes)
        except (ValueError, json_format.ParseError, RecursionError) as exc:
            batch.reject(f"invalid resource: {exc}", _count_spans(scope_list))
            continue
        for ss in scope_list:
            spans = ss.get("spans", []) if isinstance(ss, dict) else None
            if not isinstance(spans, list):
                batch.reject("scopeSpans entry is not an object with a spans array")
                continue
            scope_name = ""
            scope = ss.get("scope")
            if isinstance(scope, dict) and isinstance(scope.get("name"), str):
                scope_name = scope["name"]
            for span_obj in spans:
                try:
                    batch.spans.append(_span_record(_span_from_json(span_obj), resource, scope_name))
                except (ValueError, json_format.ParseError, RecursionError, InvalidSpan) as exc:
                    name = span_obj.get("name", "") if isinstance(span_obj, dict) else ""
                    batch.reject(f"span {str(name)[:80]!r}: {exc}")
    return batch


def _count_spans(scope_list: list[Any]) -> int:
    return sum(len(ss.get("spans", [])) for ss in scope_list if isinstance(ss, dict)) or 1


def decode_json(body: bytes) -> DecodedBatch:
    """Decode an OTLP/JSON body (one request). Invalid UTF-8 is replaced, never fatal."""
    try:
        payload = json.loads(body.decode("utf-8", "replace"))
    except (ValueError, RecursionError) as exc:
        raise MalformedRequest(f"body is not valid JSON: {exc}") from exc
    return decode_json_object(payload)


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
