"""OTLP/JSON requests with one hostile value planted in one span, and plain turns as request bodies, for the ingest tests."""

from __future__ import annotations

import json
import random
import string
import uuid
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from tests.support.spans import make_turn
from traceability.instrumentation.otlp_encode import request_to_otlp_json

TRACE = 0x5B8EFFF798038103D269B633813FC60C
"""The trace id of the default turn: a fixed value, so rows can be checked field by field."""
TRACE_UUID = uuid.UUID(int=TRACE)


def otlp_json_body(trace_id: int = TRACE, hooks: int = 3) -> bytes:
    """A turn (root + ``hooks`` hook spans) as an OTLP/JSON request body."""
    return request_to_otlp_json(encode_spans(make_turn(trace_id, hooks)))


def incompressible(length: int, seed: int) -> str:
    """Random letters and digits: PostgreSQL cannot compress them under its index entry limit."""
    return "".join(random.Random(seed).choices(string.ascii_letters + string.digits, k=length))


def turn_payload(trace_id: int, hooks: int = 9) -> dict[str, Any]:
    """A turn (root + ``hooks`` hook spans) as an OTLP/JSON object."""
    payload: dict[str, Any] = json.loads(request_to_otlp_json(encode_spans(make_turn(trace_id, hooks))))
    return payload


def spans_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = payload["resourceSpans"][0]["scopeSpans"][0]["spans"]
    return spans


def plant(payload: dict[str, Any], where: str, key: str, value: dict[str, Any]) -> dict[str, Any]:
    """Set attribute ``key`` (an OTLP AnyValue) on the root (``where="root"``) or the first hook span."""
    spans = spans_of(payload)
    span = next(s for s in spans if bool(s.get("parentSpanId")) == (where == "hook"))
    span["attributes"] = [a for a in span.get("attributes", []) if a["key"] != key]
    span["attributes"].append({"key": key, "value": value})
    return span


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()
