"""Spans as plain dicts (compare whole spans, logfire style), and deterministic ids and time."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.id_generator import IdGenerator

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z in ns
MS = 1_000_000


class IncrementalIds(IdGenerator):
    """Trace ids 1, 2, ... and span ids 1, 2, ..."""

    def __init__(self) -> None:
        self.trace = 0
        self.span = 0

    def generate_trace_id(self) -> int:
        self.trace += 1
        return self.trace

    def generate_span_id(self) -> int:
        self.span += 1
        return self.span


class FixedClock:
    """T0, then +1 ms on every call."""

    def __init__(self, start: int = T0, step: int = MS) -> None:
        self.now = start - step
        self.step = step

    def __call__(self) -> int:
        self.now += self.step
        return self.now


def _value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def span_dict(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    assert ctx is not None
    return {
        "name": span.name,
        "trace_id": f"{ctx.trace_id:032x}",
        "span_id": f"{ctx.span_id:016x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "kind": span.kind.name,
        "start": span.start_time,
        "end": span.end_time,
        "status": (span.status.status_code.name, span.status.description),
        "attributes": {k: _value(v) for k, v in (span.attributes or {}).items()},
        "events": [
            {
                "name": e.name,
                "time": e.timestamp,
                "attributes": {k: _value(v) for k, v in (e.attributes or {}).items()},
            }
            for e in span.events
        ],
        "links": [(f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}") for link in span.links],
    }


def span_dicts(spans: Any) -> list[dict[str, Any]]:
    return [span_dict(s) for s in spans]
