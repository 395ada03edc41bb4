"""Log records and metric points as the database layer sees them: frozen, already decoded.

Claude Code's own telemetry (``/v1/logs``, ``/v1/metrics``) is decoded into these first, as spans
are decoded into ``SpanRecord``; mapping and writing only ever see these types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from traceability.exporter.codec.records import AttrValue

TEMPORALITIES = ("UNSPECIFIED", "DELTA", "CUMULATIVE")


@dataclass(frozen=True, slots=True)
class LogRecordData:
    """One OTLP log record (a Claude Code event when its body is ``claude_code.<name>``)."""

    time_unix_nano: int  # timeUnixNano, else observedTimeUnixNano
    observed_time_unix_nano: int
    severity_number: int
    severity_text: str
    body: AttrValue
    attributes: Mapping[str, AttrValue]
    trace_id: str | None  # 32 hex digits of the span it happened in, when sent
    span_id: str | None
    resource: Mapping[str, AttrValue]
    scope_name: str = ""


@dataclass(frozen=True, slots=True)
class MetricPointData:
    """One data point of a sum, a gauge or a histogram (histograms keep sum, count and buckets)."""

    name: str
    unit: str
    kind: str  # sum | gauge | histogram
    temporality: str  # one of TEMPORALITIES (gauges: UNSPECIFIED)
    is_monotonic: bool
    start_time_unix_nano: int
    time_unix_nano: int
    value: float  # sums and gauges: the value; histograms: the sum
    count: int | None  # histograms only
    buckets: tuple[tuple[float, int], ...] | None  # histograms: (upper bound, count); +inf last
    attributes: Mapping[str, AttrValue]
    resource: Mapping[str, AttrValue]
    scope_name: str = ""
