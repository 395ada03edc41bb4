"""What the trace, log and metric decoders share: attribute values, batch bookkeeping, parsing.

OTLP/JSON differs from protobuf's canonical JSON mapping in one place that matters here: trace and
span ids are hex, not base64 (``ids_to_base64`` converts them before protobuf's parser runs).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from traceability.exporter.codec.records import AttrValue

MAX_ATTRIBUTE_DEPTH = 8
# What protobuf's JSON parser raises for a value of the wrong shape.
PARSE_ERRORS = (ValueError, json_format.ParseError, RecursionError, TypeError)


class MalformedRequest(ValueError):
    """The request as a whole cannot be decoded (the receiver answers 400 with this message)."""


class InvalidRecord(ValueError):
    """A log record or metric point that cannot be stored; the message says which field."""


@dataclass(kw_only=True)
class Rejections:
    """How many items of a request were rejected, and the first ten reasons why."""

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


def any_value(value: AnyValue, depth: int = 0) -> AttrValue:
    """An AnyValue as an attribute value: arrays become tuples, kvlists JSON text, bytes hex."""
    which = value.WhichOneof("value")
    if which in _SCALAR_FIELDS:
        scalar: str | bool | int | float = getattr(value, which)
        return scalar
    if which == "bytes_value":
        return value.bytes_value.hex()
    if depth >= MAX_ATTRIBUTE_DEPTH:
        return None
    if which == "array_value":
        return tuple(any_value(v, depth + 1) for v in value.array_value.values)
    if which == "kvlist_value":
        # OTel attributes cannot nest; keep the structure as JSON text, encoded once at this
        # level (nested kvlists are plain values inside it, not JSON strings inside JSON
        # strings, whose escaping would double at every level).
        return json.dumps(_plain(value, depth), ensure_ascii=False, allow_nan=False, default=str)
    return None


def _plain(value: AnyValue, depth: int) -> Any:
    """An AnyValue as a plain JSON-able Python value (kvlists become dicts); non-finite -> None."""
    which = value.WhichOneof("value")
    if which == "double_value" and not math.isfinite(value.double_value):
        return None
    if depth < MAX_ATTRIBUTE_DEPTH:
        if which == "array_value":
            return [_plain(v, depth + 1) for v in value.array_value.values]
        if which == "kvlist_value":
            return {kv.key: _plain(kv.value, depth + 1) for kv in value.kvlist_value.values}
    return any_value(value, depth)  # scalars, bytes, too deep, unset


def attributes(kvs: Any) -> dict[str, AttrValue]:
    """Repeated KeyValue -> a dict of attribute values."""
    out: dict[str, AttrValue] = {}
    for kv in kvs:
        value = kv.value
        # strings are most attributes: a non-empty string_value is the one value set (ingest hot path)
        text = value.string_value
        out[kv.key] = text if text else any_value(value)
    return out


def parse_protobuf(message: Message, body: bytes, what: str) -> None:
    """Parse ``body`` into ``message``; raises MalformedRequest naming ``what`` was expected."""
    try:
        message.ParseFromString(body)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise MalformedRequest(f"body is not a valid OTLP {what} protobuf: {exc}") from exc


def ids_to_base64(obj: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """A copy of ``obj`` with its hex ids in base64, as protobuf's JSON parser wants. Raises ValueError."""
    obj = dict(obj)
    for key in keys:
        value = obj.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a hex string")
        try:
            obj[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
        except ValueError:
            raise ValueError(f"{key} is not hex: {value[:64]!r}") from None
    return obj


def parse_dict(obj: Any, message: Message) -> Any:
    """Protobuf's JSON parser over one object (unknown fields ignored). Raises ValueError."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected an object, got {type(obj).__name__}")
    return json_format.ParseDict(obj, message, ignore_unknown_fields=True)


def list_field(obj: Any, *keys: str) -> list[Any] | None:
    """The first of ``keys`` present in ``obj``; [] when none is, None when it is not a list."""
    if not isinstance(obj, dict):
        return None
    for key in keys:
        if key in obj:
            value = obj[key]
            return value if isinstance(value, list) else None
    return []


def load_json(body: bytes) -> Any:
    """A request body as JSON. Invalid UTF-8 is replaced, never fatal."""
    try:
        return json.loads(body.decode("utf-8", "replace"))
    except (ValueError, RecursionError) as exc:
        raise MalformedRequest(f"body is not valid JSON: {exc}") from exc


def scope_name(obj: Any) -> str:
    """``scope.name`` of a scopeSpans/scopeLogs/scopeMetrics object, else ''."""
    scope = obj.get("scope") if isinstance(obj, dict) else None
    if isinstance(scope, dict) and isinstance(scope.get("name"), str):
        return str(scope["name"])
    return ""
