"""A lean OTLP/JSON encoder for finished spans: what the Claude Code hook writes to the spool.

It produces one ``ExportTraceServiceRequest`` in the OTLP/JSON encoding the OTel specification
defines (the one the OTel Collector's ``otlpjsonfile`` receiver reads): trace and span ids as
lowercase hex, 64-bit integers (times, ``intValue``) as decimal strings, ``kind`` and status
``code`` as enum integers, attributes as ``AnyValue`` objects. The result decodes, with the OTel
proto library, to the same protobuf the OTel SDK's exporter builds for the same span (tested).

It imports nothing but CPython's JSON accelerator ``_json``: the hook cannot afford the SDK (~80 ms),
nor ``json`` (which imports ``re``, ~12 ms). ``loads``/``dumps`` below are the scanner and encoder
``json`` itself uses when the accelerator is present, so ``dumps`` output is byte-identical to
``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))``; where ``_json`` is missing (another
interpreter), ``json`` is used. The hook uses them for its stdin and state too (one module: each
import costs the hook ~70 us).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any

    AttrValue = str | bool | int | float | Sequence[str] | Sequence[bool] | Sequence[int] | Sequence[float]

# --- JSON on _json ------------------------------------------------------------------------------

_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _ScanContext:
    """The attributes ``_json.make_scanner`` reads from a ``JSONDecoder``."""

    def __init__(self) -> None:
        self.strict = False  # control characters inside strings are accepted, as Claude Code may send them
        self.object_hook = None
        self.object_pairs_hook = None
        self.parse_float = float
        self.parse_int = int
        self.parse_constant = _CONSTANTS.__getitem__
        self.memo: dict[str, str] = {}


_scanner: Callable[[str, int], tuple[Any, int]] | None = None
_encoder: Callable[[Any, int], Any] | None = None


def _unsupported(obj: Any) -> Any:
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _make() -> None:
    global _scanner, _encoder
    try:
        import _json

        _scanner = _json.make_scanner(_ScanContext())  # type: ignore[arg-type]
        _encoder = _json.make_encoder(
            None, _unsupported, _json.encode_basestring, None, ":", ",", False, False, True
        )
    except (ImportError, AttributeError, TypeError):  # no accelerator: the slow, always-there path
        import json

        decoder = json.JSONDecoder(strict=False)
        _scanner = decoder.scan_once  # type: ignore[attr-defined]
        plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_unsupported)
        _encoder = plain.iterencode  # type: ignore[assignment]


def loads(text: str) -> Any:
    """Parse one JSON document; ValueError when ``text`` is not exactly one JSON value."""
    if _scanner is None:
        _make()
    assert _scanner is not None
    end = len(text)
    start = 0
    while start < end and text[start] in _WHITESPACE:
        start += 1
    try:
        value, index = _scanner(text, start)
    except StopIteration as exc:
        raise ValueError(f"not JSON (at character {exc.value})") from None
    while index < end and text[index] in _WHITESPACE:
        index += 1
    if index != end:
        raise ValueError(f"extra data after the JSON value at character {index}")
    return value


def dumps(obj: Any) -> str:
    """Compact JSON text (non-ASCII kept as is); TypeError for values JSON cannot hold."""
    if _encoder is None:
        _make()
    assert _encoder is not None
    return "".join(_encoder(obj, 0))


# --- OTLP/JSON ----------------------------------------------------------------------------------

# opentelemetry.proto.trace.v1.Span.SpanKind / Status.StatusCode
KIND_INTERNAL = 1
KIND_SERVER = 2
KIND_CLIENT = 3
STATUS_UNSET = 0
STATUS_OK = 1
STATUS_ERROR = 2

# Span.flags bits 8-9: whether the parent's remoteness is known, and whether it was remote. The low
# byte (W3C trace flags) is left 0, as the OTel SDK's encoder does.
_FLAG_CONTEXT_HAS_IS_REMOTE = 0x100
_FLAG_CONTEXT_IS_REMOTE = 0x200


class SpanEvent:
    __slots__ = ("attributes", "name", "time_unix_nano")

    def __init__(self, name: str, time_unix_nano: int, attributes: Mapping[str, AttrValue] | None = None):
        self.name = name
        self.time_unix_nano = time_unix_nano
        self.attributes = dict(attributes or {})


class LeanSpan:
    """A finished span. Ids are ints (128-bit trace id, 64-bit span ids); times are Unix ns.

    ``parent_remote``: the parent span lives in another process (true for every hook span whose
    parent is a turn, tool or subagent span, since each hook event is a new process).
    """

    __slots__ = (
        "attributes",
        "end_time_unix_nano",
        "events",
        "kind",
        "name",
        "parent_remote",
        "parent_span_id",
        "span_id",
        "start_time_unix_nano",
        "status_code",
        "status_message",
        "trace_id",
    )

    def __init__(
        self,
        trace_id: int,
        span_id: int,
        name: str,
        start_time_unix_nano: int,
        end_time_unix_nano: int,
        *,
        parent_span_id: int = 0,
        parent_remote: bool = True,
        kind: int = KIND_INTERNAL,
        attributes: dict[str, AttrValue] | None = None,
        events: list[SpanEvent] | None = None,
        status_code: int = STATUS_UNSET,
        status_message: str = "",
    ) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_span_id = parent_span_id
        self.parent_remote = parent_remote
        self.name = name
        self.kind = kind
        self.start_time_unix_nano = start_time_unix_nano
        self.end_time_unix_nano = end_time_unix_nano
        self.attributes: dict[str, AttrValue] = attributes if attributes is not None else {}
        self.events: list[SpanEvent] = events if events is not None else []
        self.status_code = status_code
        self.status_message = status_message


def any_value(value: Any) -> dict[str, Any]:
    """An attribute value as an OTLP/JSON ``AnyValue`` (bool before int: bool is an int subclass)."""
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, bytes):
        import binascii

        return {"bytesValue": binascii.b2a_base64(value, newline=False).decode("ascii")}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": any_value(value)} for key, value in attributes.items() if value is not None]


def _span_flags(span: LeanSpan) -> int:
    if span.parent_span_id and span.parent_remote:
        return _FLAG_CONTEXT_HAS_IS_REMOTE | _FLAG_CONTEXT_IS_REMOTE
    return _FLAG_CONTEXT_HAS_IS_REMOTE


def _event_dict(event: SpanEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"timeUnixNano": str(event.time_unix_nano), "name": event.name}
    if event.attributes:
        out["attributes"] = key_values(event.attributes)
    return out


def span_dict(span: LeanSpan) -> dict[str, Any]:
    """One span as an OTLP/JSON object (fields at their default are left out, as protobuf does)."""
    out: dict[str, Any] = {
        "traceId": f"{span.trace_id:032x}",
        "spanId": f"{span.span_id:016x}",
    }
    if span.parent_span_id:
        out["parentSpanId"] = f"{span.parent_span_id:016x}"
    out["flags"] = _span_flags(span)
    out["name"] = span.name
    out["kind"] = span.kind
    out["startTimeUnixNano"] = str(span.start_time_unix_nano)
    out["endTimeUnixNano"] = str(span.end_time_unix_nano)
    if span.attributes:
        out["attributes"] = key_values(span.attributes)
    if span.events:
        out["events"] = [_event_dict(e) for e in span.events]
    status: dict[str, Any] = {}
    if span.status_message:
        status["message"] = span.status_message
    if span.status_code:
        status["code"] = span.status_code
    out["status"] = status
    return out


def encode_request(
    spans: Iterable[LeanSpan],
    resource: Mapping[str, AttrValue],
    scope_name: str,
    scope_version: str = "",
) -> bytes:
    """One OTLP/JSON ``ExportTraceServiceRequest`` (UTF-8, no newline) holding ``spans``."""
    scope: dict[str, Any] = {"name": scope_name}
    if scope_version:
        scope["version"] = scope_version
    request = {
        "resourceSpans": [
            {
                "resource": {"attributes": key_values(resource)},
                "scopeSpans": [{"scope": scope, "spans": [span_dict(s) for s in spans]}],
            }
        ]
    }
    # A lone surrogate (from a \\udXXX escape in the input) cannot be UTF-8: it becomes "?".
    return dumps(request).encode("utf-8", "replace")
