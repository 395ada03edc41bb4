"""The logs decoder reads attributes from their bytes (``wire_attributes``, ``wire_logs``): it must
give what protobuf's own objects give, for every shape and encoding, refuse what protobuf refuses
(one record, not the request), and give the accepted records back as they came."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.support.fuzz_support import FUZZ
from tests.support.log_requests import make_log_requests
from tests.support.native_recorded import otlp_bodies
from traceability.exporter.codec.common import InvalidRecord, attributes
from traceability.exporter.codec.logs import decode_logs_json, decode_logs_protobuf, logs_request_to_otlp_json
from traceability.exporter.codec.records import AttrValue
from traceability.exporter.codec.wire_attributes import decode_any_value, decode_attribute

T0 = 1_767_225_600_000_000_000


def _same(a: AttrValue, b: AttrValue) -> bool:
    """Equal values, NaN equal to NaN and -0.0 told from 0.0 (ints and floats not mixed)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return a == b


texts = st.one_of(
    st.text(max_size=40), st.text(min_size=128, max_size=300), st.sampled_from(["", "é", "\x00"])
)


def _fill(target: AnyValue, kind: str, value: Any) -> None:
    if kind == "array":
        for item in value:
            target.array_value.values.add().string_value = item
    elif kind == "kvlist":
        for key, item in value:
            kv = target.kvlist_value.values.add()
            kv.key, kv.value.int_value = key, item
    elif kind != "unset":
        setattr(target, kind, value)


values = st.one_of(
    st.tuples(st.just("string_value"), texts),
    st.tuples(st.just("int_value"), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just("double_value"), st.floats(allow_nan=True, allow_infinity=True)),
    st.tuples(st.just("bool_value"), st.booleans()),
    st.tuples(st.just("bytes_value"), st.binary(max_size=20)),
    st.tuples(st.just("array"), st.lists(st.text(max_size=5), max_size=3)),
    st.tuples(st.just("kvlist"), st.lists(st.tuples(st.text(max_size=5), st.integers(-5, 5)), max_size=3)),
    st.tuples(st.just("unset"), st.none()),
)


@FUZZ
@given(key=texts, value=values, with_value=st.booleans())
@example(key="k", value=("double_value", -0.0), with_value=True)
@example(key="k", value=("double_value", math.nan), with_value=True)
@example(key="k", value=("int_value", -(2**63)), with_value=True)
@example(key="é" * 200, value=("string_value", "é" * 200), with_value=True)
@example(key="k", value=("bool_value", False), with_value=True)
def test_a_key_value_decodes_as_protobuf_reads_it(key: str, value: tuple[str, Any], with_value: bool) -> None:
    kv = KeyValue(key=key)
    if with_value:
        kv.value.SetInParent()  # an empty AnyValue is written, unlike an unset one
        _fill(kv.value, *value)
    raw = kv.SerializeToString()
    ((expected_key, expected),) = attributes([KeyValue.FromString(raw)]).items()
    for _ in range(2):  # the second answer comes from the cache
        got_key, got = decode_attribute(raw)
        assert got_key == expected_key
        assert _same(got, expected), (got, expected)


def _tag(field: int, wire: int) -> bytes:
    return bytes([field << 3 | wire])


def _delimited(field: int, payload: bytes, length: bytes | None = None) -> bytes:
    return _tag(field, 2) + (length if length is not None else bytes([len(payload)])) + payload


STRING_VALUE = _delimited(1, b"v")  # AnyValue{string_value: "v"}
UNUSUAL = {
    "value before key": _delimited(2, STRING_VALUE) + _delimited(1, b"k"),
    "key twice (the last wins)": _delimited(1, b"a") + _delimited(1, b"k") + _delimited(2, STRING_VALUE),
    "a two-byte length for one byte": _tag(1, 2) + b"\x81\x00" + b"k" + _delimited(2, STRING_VALUE),
    "an unknown field in the KeyValue": _delimited(1, b"k")
    + _delimited(2, STRING_VALUE)
    + _delimited(9, b"x"),
    "an unknown field in the AnyValue": _delimited(1, b"k")
    + _delimited(2, STRING_VALUE + _delimited(9, b"x")),
    "two values (the last wins)": _delimited(1, b"k") + _delimited(2, STRING_VALUE + _tag(3, 0) + b"\x07"),
    "a value in two parts (merged)": _delimited(1, b"k")
    + _delimited(2, STRING_VALUE)
    + _delimited(2, b"\x18\x05"),
}


@pytest.mark.parametrize("raw", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_unusual_encodings_decode_as_protobuf_decodes_them(raw: bytes) -> None:
    ((key, expected),) = attributes([KeyValue.FromString(raw)]).items()
    assert decode_attribute(raw) == (key, expected)


BROKEN = {
    "key not UTF-8": _delimited(1, b"\xff\xfe"),
    "string value not UTF-8": _delimited(1, b"k") + _delimited(2, _delimited(1, b"\xc3")),
    "truncated key": _tag(1, 2) + b"\x05ab",
    "truncated value": _delimited(1, b"k") + _tag(2, 2) + b"\x09" + STRING_VALUE,
    "a length that never ends": _tag(1, 2) + b"\xff\xff\xff",
}


@pytest.mark.parametrize("raw", BROKEN.values(), ids=BROKEN.keys())
def test_what_protobuf_refuses_is_refused(raw: bytes) -> None:
    with pytest.raises(Exception):  # noqa: B017 - protobuf's own refusal, whatever its type
        KeyValue.FromString(raw)
    with pytest.raises(InvalidRecord, match="not a valid KeyValue"):
        decode_attribute(raw)


def test_a_body_decodes_as_protobuf_reads_it() -> None:
    bodies = [
        AnyValue(string_value="claude_code.api_request"),
        AnyValue(int_value=-3),
        AnyValue(bool_value=True),
    ]
    for body, value in zip(bodies, ["claude_code.api_request", -3, True], strict=True):
        assert decode_any_value(body.SerializeToString()) == value
    assert decode_any_value(b"") is None
    with pytest.raises(InvalidRecord, match="not a valid AnyValue"):
        decode_any_value(_delimited(1, b"\xff"))


def _request(records: int) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.schema_url = "https://opentelemetry.io/schemas/1.24.0"
    rl.resource.attributes.add(key="service.name").value.string_value = "claude-code"
    sl = rl.scope_logs.add()
    sl.scope.name = "com.anthropic.claude_code.events"
    for n in range(records):
        record = sl.log_records.add(time_unix_nano=T0 + n, flags=1, event_name=f"e{n}")
        record.body.string_value = "claude_code.tool_result"
        record.attributes.add(key="event.sequence").value.int_value = n
    return request


def test_accepted_is_the_request_as_sent_when_every_record_is_kept() -> None:
    """Fields the decoder does not read (flags, event_name, schema_url) are not lost."""
    body = _request(3).SerializeToString()
    batch = decode_logs_protobuf(body)
    assert [r.attributes for r in batch.records] == [{"event.sequence": n} for n in range(3)]
    assert batch.accepted.SerializeToString() == body


def test_a_record_with_a_broken_attribute_is_rejected_and_the_others_kept() -> None:
    request = _request(3)
    body = bytearray(request.SerializeToString())
    bad = request.resource_logs[0].scope_logs[0].log_records[1].attributes[0].SerializeToString()
    at = body.index(bad)
    body[at + 2 : at + 4] = b"\xff\xfe"  # inside the key "event.sequence": no longer UTF-8
    batch = decode_logs_protobuf(bytes(body))
    assert [r.attributes for r in batch.records] == [{"event.sequence": 0}, {"event.sequence": 2}]
    assert batch.rejected == 1
    assert "not a valid KeyValue" in batch.error_message
    kept = batch.accepted.resource_logs[0]
    assert [r.event_name for r in kept.scope_logs[0].log_records] == ["e0", "e2"]
    assert kept.resource == request.resource_logs[0].resource
    assert kept.scope_logs[0].scope.name == "com.anthropic.claude_code.events"


def test_a_broken_resource_rejects_its_records_only() -> None:
    good = _request(2)
    broken = _request(3).resource_logs[0]
    broken.resource.attributes[0].key = "x"
    body = bytearray(
        good.SerializeToString() + ExportLogsServiceRequest(resource_logs=[broken]).SerializeToString()
    )
    at = body.rindex(b"\x0a\x01x")
    body[at + 2] = 0xFF  # the second resource's key is not UTF-8
    batch = decode_logs_protobuf(bytes(body))
    assert len(batch.records) == 2
    assert batch.rejected == 3
    assert "invalid Resource" in batch.error_message


def test_recorded_requests_decode_as_through_protobuf_objects() -> None:
    """Claude Code's own log requests (and the bench's): decoded from the bytes, and decoded as
    OTLP/JSON made by protobuf from the parsed request, give the same records."""
    bodies = [b.raw() for b in otlp_bodies("protobuf-gzip") if b.signal == "logs"]
    bodies += make_log_requests(200, 100, seed=4)
    compared = 0
    for body in bodies:
        from_bytes = decode_logs_protobuf(body)
        as_json = logs_request_to_otlp_json(ExportLogsServiceRequest.FromString(body))
        assert from_bytes.records == decode_logs_json(as_json).records
        assert from_bytes.rejected == 0
        compared += len(from_bytes.records)
    assert compared > 220
