"""``PostgresSpanExporter``: an OpenTelemetry SDK ``SpanExporter`` that stores spans in PostgreSQL.

Use it behind a ``BatchSpanProcessor``. ``export`` is called from the processor's thread; the
exporter runs its own event loop on a private thread for asyncpg. It never raises into the host:
failures are logged and reported as ``SpanExportResult.FAILURE``. ``shutdown`` is idempotent.
Spans go through the same OTLP encode -> decode -> write path as the collector's.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from traceability.exporter.codec.traces import decode_request
from traceability.exporter.storage.database import (
    POOL_MAX_SIZE,
    POOL_MIN_SIZE,
    LazyPool,
    redact_dsn,
    resolve_dsn,
)
from traceability.exporter.storage.writer import RetryPolicy, SpanWriter

log = logging.getLogger(__name__)


class PostgresSpanExporter(SpanExporter):
    """Exports spans to ``execution_traces`` / ``hook_executions``.

    ``dsn``: argument, else ``TRACEABILITY_DB_URL`` / ``TRACEABILITY_DB_URL_EXTERNAL``.
    ``timeout_s`` bounds one export call, retries included.
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        pool_min_size: int = POOL_MIN_SIZE,
        pool_max_size: int = POOL_MAX_SIZE,
        timeout_s: float = 30.0,
    ) -> None:
        self._dsn = resolve_dsn(dsn)
        self._timeout_s = timeout_s
        self._shutdown = False
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="postgres-span-exporter", daemon=True
        )
        self._thread.start()
        self._pool = (
            LazyPool(self._dsn, min_size=pool_min_size, max_size=pool_max_size) if self._dsn else None
        )
        self._writer = (
            SpanWriter(self._pool, RetryPolicy(deadline_s=max(timeout_s - 1.0, 0.5))) if self._pool else None
        )
        if self._dsn is None:
            log.error(
                "PostgresSpanExporter: no database URL (argument or TRACEABILITY_DB_URL); spans are dropped"
            )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown or self._writer is None:
            return SpanExportResult.FAILURE
        try:
            batch = decode_request(encode_spans(spans))
            future = asyncio.run_coroutine_threadsafe(self._writer.write(batch.spans), self._loop)
            result = future.result(timeout=self._timeout_s)
        except Exception as exc:  # the host must never see an exporter error
            log.warning(
                "PostgresSpanExporter: export of %d spans to %s failed: %s",
                len(spans), redact_dsn(self._dsn or ""), exc,
            )  # fmt: skip
            return SpanExportResult.FAILURE
        if batch.rejected or result.rejected:
            log.warning(
                "PostgresSpanExporter: %d spans rejected: %s",
                batch.rejected + len(result.rejected), batch.error_message or result.rejected[0][1],
            )  # fmt: skip
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # export is synchronous: nothing is buffered here

    def shutdown(self) -> None:
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
        try:
            if self._pool is not None:
                asyncio.run_coroutine_threadsafe(self._pool.close(), self._loop).result(timeout=10)
        except Exception as exc:
            log.warning("PostgresSpanExporter: closing the pool failed: %s", exc)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()
