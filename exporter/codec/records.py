"""The span as the database layer sees it: a frozen, already-decoded record.

Every producer (OTLP protobuf, OTLP/JSON from the spool, OTel SDK ``ReadableSpan``) is decoded into
``SpanRecord`` first; mapping and writing only ever see this type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# An OTel attribute value after decoding (arrays become tuples; bytes become hex strings).
AttrValue = str | bool | int | float | tuple["AttrValue", ...] | None

SPAN_KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
STATUS_CODES = ("UNSET", "OK", "ERROR")


@dataclass(frozen=True, slots=True)
class SpanEventRecord:
    name: str
    time_unix_nano: int
    attributes: Mapping[str, AttrValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpanLinkRecord:
    """A span link: the linked span's ids (lowercase hex) and the link's own attributes."""

    trace_id: str
    span_id: str
    attributes: Mapping[str, AttrValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpanRecord:
    trace_id: str  # 32 lowercase hex digits, not all zero
    span_id: str  # 16 lowercase hex digits, not all zero
    parent_span_id: str | None
    name: str
    kind: str  # one of SPAN_KINDS
    start_time_unix_nano: int
    end_time_unix_nano: int
    status_code: str  # one of STATUS_CODES
    status_message: str
    attributes: Mapping[str, AttrValue]
    events: tuple[SpanEventRecord, ...]
    resource: Mapping[str, AttrValue]
    scope_name: str = ""
    links: tuple[SpanLinkRecord, ...] = ()


class InvalidSpan(ValueError):
    """A span that cannot be stored (bad ids, impossible times); the message says which field."""
