"""``SpoolSpanExporter``: an OTel SDK ``SpanExporter`` that writes spans to the spool directory.

Each ``export`` call writes one spool file holding one OTLP/JSON ``ExportTraceServiceRequest``
line (see ``instrumentation/spool.py``), which the collector's drainer (or an OTel Collector's
``otlpjsonfile`` receiver) ships on. It never raises into the host: errors are logged and
reported as ``SpanExportResult.FAILURE``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from traceability.instrumentation.otlp_encode import spans_to_otlp_json
from traceability.instrumentation.spool import resolve_spool_dir, write_spool_file

log = logging.getLogger(__name__)


class SpoolSpanExporter(SpanExporter):
    """Writes each batch as one spool file. ``spool_dir``: argument, else ``TRACEABILITY_SPOOL_DIR``,
    else ``$XDG_STATE_HOME/traceability/spool``. ``fsync=False`` trades durability for speed."""

    def __init__(self, spool_dir: str | None = None, *, fsync: bool = True) -> None:
        self.spool_dir = resolve_spool_dir(spool_dir)
        self._fsync = fsync
        self._shutdown = False
        self._lock = threading.Lock()
        self._sequence = 0
        self.last_error: str | None = None

    def _stem(self) -> str:
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        return f"{time.time_ns():020d}-{os.getpid()}-{sequence:06d}-{os.urandom(4).hex()}"

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            log.warning("SpoolSpanExporter: export after shutdown, %d spans dropped", len(spans))
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            line = spans_to_otlp_json(spans)
            write_spool_file(self.spool_dir, self._stem(), [line], fsync=self._fsync)
        except Exception as exc:  # the host must never see an exporter error
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "SpoolSpanExporter: writing %d spans to %s failed: %s", len(spans), self.spool_dir, exc
            )
            return SpanExportResult.FAILURE
        self.last_error = None
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # every export is written (and fsynced) before it returns

    def shutdown(self) -> None:
        self._shutdown = True
