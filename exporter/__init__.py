"""Span ingest: ``codec`` (OTLP -> records), ``storage`` (records -> PostgreSQL), ``devtools``, ``migrations``.

``from traceability.exporter import PostgresSpanExporter`` loads the OTel SDK lazily, so
importing a submodule (the schema, the embedded cluster) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from traceability.exporter.span_exporter import PostgresSpanExporter

__all__ = ["PostgresSpanExporter"]


def __getattr__(name: str) -> Any:
    if name == "PostgresSpanExporter":
        from traceability.exporter.span_exporter import PostgresSpanExporter

        return PostgresSpanExporter
    raise AttributeError(name)
