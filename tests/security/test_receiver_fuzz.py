"""The OTLP receiver fuzzed with hypothesis against the real collector process and database.

Properties, for every request: no 5xx; a 200 answer's spans are each either stored or counted in
``partial_success.rejected_spans`` (nothing half-written, nothing silently dropped); a 4xx stores
nothing; the collector keeps serving. Every span gets a trace id of its own, unique to its
example, so rows can be counted per request.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import os
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.support.collector import running_collector
from tests.support.db import fetch
from tests.support.fuzz_support import EXAMPLES, FUZZ, T0, attribute
from tests.support.hostile import hostile_text, json_values
from traceability.exporter.storage.limits import index_safe_text
from traceability.instrumentation import semconv as sc

_ids = itertools.count(1)


def _fresh_trace_hex() -> str:
    return f"f022{os.getpid():08x}{next(_ids):020x}"


def _row_counts(dsn: str) -> tuple[int, int]:
    row = fetch(
        dsn,
        "SELECT (SELECT count(*) FROM hook_executions) AS h,"
        " (SELECT count(*) FROM execution_traces WHERE root_received) AS r",
    )[0]
    return int(row["h"]), int(row["r"])


@st.composite
def span(draw: st.DrawFn, root: bool) -> dict[str, Any]:
    start = draw(st.one_of(st.just(T0), st.integers(0, 2**64 - 1), st.sampled_from([-1, "abc", None, 1.5])))
    end = draw(st.one_of(st.just(T0 + 5_000_000), st.integers(0, 2**64 - 1), st.just(start)))
    obj: dict[str, Any] = {
        "traceId": _fresh_trace_hex(),
        "spanId": f"{draw(st.integers(1, 2**64 - 1)):016x}",
        "name": draw(hostile_text),
        "kind": draw(st.one_of(st.integers(-2, 8), st.sampled_from(["SPAN_KIND_SERVER", "BOGUS"]))),
        "startTimeUnixNano": str(start) if isinstance(start, int) else start,
        "endTimeUnixNano": str(end) if isinstance(end, int) else end,
        "attributes": draw(st.lists(attribute(), max_size=6)),
        "status": draw(st.one_of(st.just({}), st.fixed_dictionaries({"code": st.integers(-1, 5),
                                                                     "message": hostile_text}))),
        "events": draw(st.lists(st.fixed_dictionaries({"name": hostile_text, "timeUnixNano": st.just(str(T0)),
                                                       "attributes": st.lists(attribute(), max_size=2)}),
                                max_size=2)),
    }  # fmt: skip
    if not root:
        obj["parentSpanId"] = f"{draw(st.integers(1, 2**64 - 1)):016x}"
    mutation = draw(
        st.sampled_from(["none"] * 6 + ["bad_trace", "bad_span", "zero_span", "drop_field", "junk"])
    )
    if mutation == "bad_trace":
        obj["traceId"] = draw(st.sampled_from(["xyz", "", "00" * 16, "ab" * 8, 12345, "ab" * 17]))
    elif mutation == "bad_span":
        obj["spanId"] = draw(st.sampled_from(["nothex!!", "00" * 16, [], {"a": 1}]))
    elif mutation == "zero_span":
        obj["spanId"] = "0" * 16
    elif mutation == "drop_field":
        obj.pop(draw(st.sampled_from(sorted(obj))), None)
    elif mutation == "junk":
        obj[draw(st.sampled_from(sorted(obj)))] = draw(json_values)
    return obj


@st.composite
def otlp_request(draw: st.DrawFn) -> dict[str, Any]:
    spans = draw(st.lists(st.booleans().flatmap(lambda r: span(r)), min_size=1, max_size=6))
    resource = draw(
        st.one_of(st.just({}), st.fixed_dictionaries({"attributes": st.lists(attribute(), max_size=3)}))
    )
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": draw(hostile_text)},
                                                                      "spans": spans}]}]}  # fmt: skip


def _check_accounting(dsn: str, before: tuple[int, int], spans: int, response: httpx.Response) -> None:
    after = _row_counts(dsn)
    stored = (after[0] - before[0]) + (after[1] - before[1])
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        parsed = (
            json_format.Parse(response.content or b"{}", ExportTraceServiceResponse())
            if response.headers["content-type"] == "application/json"
            else ExportTraceServiceResponse.FromString(response.content)
        )
        rejected = parsed.partial_success.rejected_spans
        assert stored + rejected == spans, f"stored {stored} + rejected {rejected} != sent {spans}"
        if rejected:
            assert parsed.partial_success.error_message
    else:
        assert response.status_code == 400, response.text
        assert stored == 0, f"{stored} rows written by a request answered {response.status_code}"


def test_receiver_fuzzed_with_hostile_otlp_json_and_protobuf(db_dsn: str, tmp_path: Path) -> None:
    _fuzz_receiver(db_dsn, tmp_path, EXAMPLES)


def _fuzz_receiver(db_dsn: str, tmp_path: Path, examples: int) -> None:
    fuzz = settings(FUZZ, max_examples=examples)
    with running_collector(db_dsn, tmp_path) as collector, httpx.Client(timeout=30) as client:

        def post(body: bytes, content_type: str, **headers: str) -> httpx.Response:
            return client.post(
                collector.traces_url, content=body, headers={"Content-Type": content_type, **headers}
            )

        @fuzz
        @given(otlp_request())
        def json_requests(payload: dict[str, Any]) -> None:
            spans = len(payload["resourceSpans"][0]["scopeSpans"][0]["spans"])
            before = _row_counts(db_dsn)
            body = json.dumps(payload).encode()
            _check_accounting(db_dsn, before, spans, post(body, "application/json"))

        @fuzz
        @given(otlp_request(), st.booleans())
        def protobuf_requests(payload: dict[str, Any], compress: bool) -> None:
            # the same structures as protobuf, where they can be expressed as one
            for s in payload["resourceSpans"][0]["scopeSpans"][0]["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    value = s.get(key)
                    try:
                        s[key] = base64.b64encode(bytes.fromhex(value)).decode()
                    except (TypeError, ValueError):
                        s.pop(key, None)
            try:
                message = json_format.ParseDict(payload, ExportTraceServiceRequest())
            except (json_format.ParseError, ValueError, TypeError, RecursionError):
                return
            body = message.SerializeToString()
            before = _row_counts(db_dsn)
            headers = {"Content-Encoding": "gzip"} if compress else {}
            response = post(gzip.compress(body) if compress else body, "application/x-protobuf", **headers)
            spans = sum(len(ss.spans) for rs in message.resource_spans for ss in rs.scope_spans)
            traces = {s.trace_id for rs in message.resource_spans for ss in rs.scope_spans for s in ss.spans}
            if len(traces) == spans:  # one span per trace: exact accounting
                _check_accounting(db_dsn, before, spans, response)
            assert response.status_code < 500, response.text

        @fuzz
        @given(st.binary(max_size=4096), st.sampled_from(["application/x-protobuf", "application/json"]))
        def raw_bytes(body: bytes, content_type: str) -> None:
            before = _row_counts(db_dsn)
            response = post(body, content_type)
            assert response.status_code < 500, response.text
            if response.status_code != 200:
                assert response.status_code == 400
                assert _row_counts(db_dsn) == before

        @fuzz
        @given(st.data())
        def mutated_protobuf(data: st.DataObject) -> None:
            message = ExportTraceServiceRequest()
            payload = data.draw(otlp_request().filter(_all_ids_valid))
            try:
                json_format.ParseDict(_b64_ids(payload), message)
            except (json_format.ParseError, ValueError, TypeError, RecursionError):
                return
            body = bytearray(message.SerializeToString())
            rng = random.Random(data.draw(st.integers(0, 2**32)))
            for _ in range(data.draw(st.integers(1, 8))):
                if body:
                    body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
            if data.draw(st.booleans()) and body:
                del body[rng.randrange(len(body)) :]
            before = _row_counts(db_dsn)
            response = post(bytes(body), "application/x-protobuf")
            assert response.status_code < 500, response.text
            try:
                ExportTraceServiceRequest.FromString(bytes(body))
            except DecodeError:
                assert response.status_code == 400
                assert _row_counts(db_dsn) == before

        json_requests()
        protobuf_requests()
        raw_bytes()
        mutated_protobuf()

        # the deep / huge / broken edges, explicitly
        deep = b'{"resourceSpans": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
        assert post(deep, "application/json").status_code == 400
        levels = 2000  # AnyValue nested 2000 kvlists deep: too deep for the JSON->protobuf parser
        deep_any = (
            '{"kvlistValue": {"values": [{"key": "k", "value": ' * levels
            + '{"stringValue": "x"}'
            + "}]}}" * levels
        )
        nested = json.dumps(_single_span_request({"key": "deep", "value": "@"})).replace('"@"', deep_any)
        before = _row_counts(db_dsn)
        response = post(nested.encode(), "application/json")
        _check_accounting(db_dsn, before, 1, response)
        assert response.status_code == 400 or "deep" in response.text, response.text
        assert post(b"\x00" * 1000, "application/json").status_code == 400
        assert post(b'{"resourceSpans": "\\ud800"}', "application/json").status_code == 400
        health = collector.health()
        assert collector.process.poll() is None
        assert health["status"] == "ok"
        assert health["receiver"]["spans_queued_on_disk"] == 0  # type: ignore[index]
    assert not (collector.spool_dir / "rejected").exists()


def _all_ids_valid(payload: dict[str, Any]) -> bool:
    for s in payload["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for key in ("traceId", "spanId"):
            value = s.get(key)
            if not isinstance(value, str) or len(value) not in (32, 16):
                return False
            try:
                bytes.fromhex(value)
            except ValueError:
                return False
    return True


def _b64_ids(payload: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(payload))
    for s in out["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for key in ("traceId", "spanId", "parentSpanId"):
            if isinstance(s.get(key), str):
                s[key] = base64.b64encode(bytes.fromhex(s[key])).decode()
    return out


def _not_json(constant: str) -> Any:
    raise ValueError(constant)


def _single_span_request(attr: dict[str, Any]) -> dict[str, Any]:
    return {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": _fresh_trace_hex(), "spanId": "00000000000000aa", "name": "deep",
        "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 1), "attributes": [attr]}]}]}]}  # fmt: skip


def test_hostile_strings_are_stored_intact_or_sanitized(db_dsn: str, tmp_path: Path) -> None:
    """Valid spans carrying hostile strings: stored, equal to what was sent except NUL -> U+FFFD."""
    from tests.support.hostile import HOSTILE_STRINGS

    spans = []
    for i, text in enumerate(HOSTILE_STRINGS):
        spans.append({
            "traceId": f"ab{i:030x}", "spanId": f"{i + 1:016x}", "parentSpanId": "00000000000000ff",
            "name": text, "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 1),
            "attributes": [{"key": sc.HOOK_NAME, "value": {"stringValue": text}},
                           {"key": sc.SESSION_ID, "value": {"stringValue": text}},
                           {"key": sc.INPUT_DATA, "value": {"stringValue": text}},
                           {"key": text or "empty", "value": {"stringValue": text}}],
        })  # fmt: skip
    payload = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    with running_collector(db_dsn, tmp_path) as collector:
        response = httpx.post(
            collector.traces_url, content=json.dumps(payload), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 200, response.text
    assert json.loads(response.content) == {}  # nothing rejected
    rows = fetch(db_dsn, "SELECT span_name, hook_name, session_id, input_data, attributes FROM hook_executions "
                         "ORDER BY span_id")  # fmt: skip
    assert len(rows) == len(HOSTILE_STRINGS)
    for text, row in zip(HOSTILE_STRINGS, rows, strict=True):
        clean = text.replace("\x00", "\ufffd")
        assert row["span_name"] == clean
        # an indexed column keeps a value an index can hold; the whole value is in attributes
        assert row["session_id"] == index_safe_text(clean)
        if row["session_id"] != clean:
            assert json.loads(row["attributes"])[sc.SESSION_ID] == clean
        assert row["hook_name"] == (
            clean or row["span_name"]
        )  # an empty hook name falls back to the span name
        assert (
            row["attributes"] is not None
            and json.loads(row["attributes"])[text.replace("\x00", "\ufffd") or "empty"] == clean
        )
        stored_input = json.loads(row["input_data"]) if row["input_data"] is not None else None
        try:
            sent_input = json.loads(clean, parse_constant=_not_json) if clean else None
        except ValueError:
            sent_input = clean  # not JSON: kept as a JSON string
        assert stored_input == sent_input or (sent_input is None and stored_input in (None, ""))
    tables = fetch(db_dsn, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'hook_executions'")
    assert tables == [{"n": 1}]  # the DROP TABLE strings stayed strings


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_receiver_fuzz_long(db_dsn: str, tmp_path: Path) -> None:
    """The same properties with 10x the examples."""
    _fuzz_receiver(db_dsn, tmp_path, EXAMPLES * 10)
