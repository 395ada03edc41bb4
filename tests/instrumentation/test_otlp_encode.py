"""The general OTLP/JSON encoder writes what the OTLP/JSON encoding requires, and loses nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from traceability.exporter.codec.records import SpanLinkRecord
from traceability.exporter.codec.traces import decode_json, decode_protobuf, records_to_request
from traceability.instrumentation.otlp_encode import request_to_otlp_json


def _request() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name", value={"string_value": "svc"})
    ss = rs.scope_spans.add()
    ss.scope.name = "scope"
    span = ss.spans.add(
        trace_id=bytes.fromhex("0af7651916cd43dd8448eb211c80319c"),
        span_id=bytes.fromhex("b7ad6b7169203331"),
        parent_span_id=bytes.fromhex("00f067aa0ba902b7"),
        flags=0x300,
        name="tool",
        kind=3,
        start_time_unix_nano=1_700_000_000_000_000_001,
        end_time_unix_nano=1_700_000_000_000_000_002,
    )
    span.attributes.add(key="n", value={"int_value": 2**62})
    span.attributes.add(key="b", value={"bytes_value": b"\x00\xff"})
    kv = span.attributes.add(key="kv").value.kvlist_value.values.add(key="inner")
    kv.value.double_value = 1.5
    event = span.events.add(name="e", time_unix_nano=1_700_000_000_000_000_001)
    event.attributes.add(key="x", value={"bool_value": True})
    link = span.links.add(
        trace_id=bytes.fromhex("11112222333344445555666677778888"), span_id=bytes.fromhex("1234567890abcdef")
    )
    link.attributes.add(key="link.kind", value={"string_value": "follows"})
    span.status.code = 2
    span.status.message = "boom"
    return request


def _ids_to_base64(obj: dict[str, Any]) -> None:
    for key in ("traceId", "spanId", "parentSpanId"):
        if key in obj:
            obj[key] = base64.b64encode(bytes.fromhex(obj[key])).decode()


def test_ids_hex_enums_integers_int64_strings_and_links_kept() -> None:
    payload = json.loads(request_to_otlp_json(_request()))
    span = payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == "0af7651916cd43dd8448eb211c80319c"
    assert span["parentSpanId"] == "00f067aa0ba902b7"
    assert span["kind"] == 3 and span["status"] == {"message": "boom", "code": 2}
    assert span["startTimeUnixNano"] == "1700000000000000001"
    assert span["attributes"][0] == {"key": "n", "value": {"intValue": str(2**62)}}
    assert span["links"] == [
        {
            "traceId": "11112222333344445555666677778888",
            "spanId": "1234567890abcdef",
            "attributes": [{"key": "link.kind", "value": {"stringValue": "follows"}}],
        }
    ]


def test_json_parses_back_to_the_same_protobuf() -> None:
    original = _request()
    payload = json.loads(request_to_otlp_json(original))
    span = payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    _ids_to_base64(span)
    for link in span["links"]:
        _ids_to_base64(link)
    assert json_format.ParseDict(payload, ExportTraceServiceRequest()) == original


def test_decode_keeps_links_and_enums_from_json_protobuf_and_the_queue_line() -> None:
    original = _request()
    from_json = decode_json(request_to_otlp_json(original))
    from_proto = decode_protobuf(original.SerializeToString())
    assert from_json.rejected == 0 and from_json.spans == from_proto.spans
    (record,) = from_json.spans
    assert (record.kind, record.status_code, record.status_message) == ("CLIENT", "ERROR", "boom")
    assert record.links == (
        SpanLinkRecord("11112222333344445555666677778888", "1234567890abcdef", {"link.kind": "follows"}),
    )
    # the collector queues accepted spans as OTLP/JSON: that line decodes to the same records
    assert decode_json(request_to_otlp_json(records_to_request(from_json.spans))).spans == from_json.spans


def test_enum_names_are_accepted_leniently() -> None:
    payload = json.loads(request_to_otlp_json(_request()))
    span = payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["kind"] = "SPAN_KIND_CLIENT"
    span["status"]["code"] = "STATUS_CODE_ERROR"
    batch = decode_json(json.dumps(payload).encode())
    assert batch.rejected == 0
    assert (batch.spans[0].kind, batch.spans[0].status_code) == ("CLIENT", "ERROR")


def test_a_link_with_a_bad_id_rejects_its_span_with_a_reason() -> None:
    payload = json.loads(request_to_otlp_json(_request()))
    payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["links"][0]["spanId"] = "0" * 16
    batch = decode_json(json.dumps(payload).encode())
    assert batch.spans == [] and batch.rejected == 1 and "links.spanId" in batch.error_message
