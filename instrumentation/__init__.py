"""Span producers: semantic conventions, the spool, and ``ExecutionTracer`` (the tracing API, on OTel).

``from traceability.instrumentation import ExecutionTracer`` loads the OTel SDK lazily: importing
this package, ``semconv``, ``ids`` or ``spool`` (the Claude Code hook's path) imports no OTel code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from traceability.instrumentation.spool_exporter import SpoolSpanExporter
    from traceability.instrumentation.tracer import ExecutionTracer

__all__ = ["ExecutionTracer", "SpoolSpanExporter"]


def __getattr__(name: str) -> Any:
    if name == "ExecutionTracer":
        from traceability.instrumentation.tracer import ExecutionTracer

        return ExecutionTracer
    if name == "SpoolSpanExporter":
        from traceability.instrumentation.spool_exporter import SpoolSpanExporter

        return SpoolSpanExporter
    raise AttributeError(name)
