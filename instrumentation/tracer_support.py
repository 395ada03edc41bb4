"""The pieces ``ExecutionTracer`` is built from: an open turn, what ``trace_execution`` yields, and
argument handling that logs instead of raising (telemetry never breaks its host)."""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry.trace import Link, SpanContext, TraceFlags

from traceability.instrumentation.ids import parse_trace_uuid, turn_span_id

if TYPE_CHECKING:
    from traceability.instrumentation.tracer import ExecutionTracer

log = logging.getLogger("traceability.instrumentation.tracer")


@dataclass
class OpenTrace:
    """A started turn. Its root span is built when the turn ends (``ExecutionTracer._end_turn``): only
    then is its start known, the earliest of ``start_trace`` and every child's back-dated start."""

    trace_id: int
    start_ns: int
    parent_ctx: otel_context.Context
    attributes: dict[str, Any]
    links: list[Link]
    session_id: str | None
    execution_order: int = 0

    def span_context(self) -> SpanContext:
        """The root span's context (its id is fixed, ``ids.turn_span_id``): the parent of its children."""
        return SpanContext(
            self.trace_id,
            turn_span_id(self.trace_id),
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )


@contextmanager
def never_raise(operation: str) -> Iterator[None]:
    """Telemetry must never break its host: log the error and carry on."""
    try:
        yield
    except Exception:
        log.exception("ExecutionTracer.%s failed; the span is skipped", operation)


def parse_uuid_arg(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    trace_id = parse_trace_uuid(value)
    if trace_id is None:
        log.warning("ExecutionTracer: invalid %s %r (not a UUID), ignored", name, str(value)[:64])
    return trace_id


def duration_ns(duration_ms: float) -> int:
    try:
        value = float(duration_ms)
    except (TypeError, ValueError):
        return 0
    if not math.isfinite(value) or value < 0:
        return 0
    return int(value * 1_000_000)


class ForeignOrders:
    """Execution-order counters of traces started elsewhere (the most recent ``keep`` traces)."""

    def __init__(self, keep: int = 4096) -> None:
        self._keep = keep
        self._orders: OrderedDict[int, int] = OrderedDict()

    def next(self, trace_id: int) -> int:
        """The next execution order in ``trace_id``: 1, 2, ... (callers hold the tracer's lock)."""
        order = self._orders.pop(trace_id, 0) + 1
        self._orders[trace_id] = order
        while len(self._orders) > self._keep:
            self._orders.popitem(last=False)
        return order


class TraceContext:
    """What ``trace_execution`` yields: the correlation id and a ``track_hook`` shortcut."""

    def __init__(self, correlation_id: str, tracer: ExecutionTracer) -> None:
        self.correlation_id = correlation_id
        self.correlation_id_str = correlation_id  # the same id, under a second name callers use
        self.tracer = tracer
        self.started_at = time.monotonic()

    async def track_hook(
        self, hook_name: str, tool_name: str | None, duration_ms: float, success: bool = True, **kwargs: Any
    ) -> None:
        await self.tracer.track_hook_execution(
            self.correlation_id, hook_name, tool_name, duration_ms, success, **kwargs
        )

    def get_elapsed_ms(self) -> float:
        return (time.monotonic() - self.started_at) * 1000
