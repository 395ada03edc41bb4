"""The spool drainer: OTLP/JSON files in the spool directory -> committed rows -> files removed.

Each ready file (``*.json`` directly in the directory; writers rename complete files into place)
is locked with ``flock`` while it is being drained, so two collectors on one spool never take the
same file and a killed collector's files are picked up again. A file is removed only after its
spans are committed. Each line is one OTLP/JSON request of any signal (``resourceSpans``,
``resourceLogs`` or ``resourceMetrics``): the collector queues logs and metrics the same way. Lines or spans that cannot be stored are kept, as OTLP/JSON, under
``rejected/`` with the reason logged: nothing is silently dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from traceability.exporter.native_records import LogRecordData, MetricPointData
from traceability.exporter.native_writer import NativeWriter
from traceability.exporter.otlp_decode import (
    DecodedBatch,
    MalformedRequest,
    decode_json_object,
    records_to_request,
    request_to_otlp_json,
)
from traceability.exporter.otlp_native_decode import (
    DecodedLogs,
    DecodedMetrics,
    decode_logs_json_object,
    decode_metrics_json_object,
)
from traceability.exporter.records import SpanRecord
from traceability.exporter.writer import RETRYABLE_ERRORS, SpanWriter
from traceability.instrumentation.spool import is_ready_spool_file, write_spool_file

log = logging.getLogger(__name__)

MAX_SPOOL_FILE_BYTES = 256 * 1024 * 1024
REJECTED_DIR = "rejected"


@dataclass
class DrainStats:
    files_drained: int = 0
    spans_written: int = 0
    spans_rejected: int = 0
    log_records_written: int = 0
    metric_points_written: int = 0
    records_rejected: int = 0  # log records and metric points
    files_rejected: int = 0
    last_error: str | None = None
    database_up: bool = True


@dataclass
class _OpenFile:
    path: Path
    fd: int
    spans: list[SpanRecord] = field(default_factory=list)
    logs: list[LogRecordData] = field(default_factory=list)
    metrics: list[MetricPointData] = field(default_factory=list)
    bad_lines: list[bytes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class SpoolDrainer:
    """Drains ``spool_dir`` into the database through ``writer``."""

    def __init__(
        self,
        spool_dir: str,
        writer: SpanWriter,
        native_writer: NativeWriter | None = None,
        *,
        batch_spans: int = 5000,
        interval_s: float = 0.25,
    ):
        self.spool_dir = Path(spool_dir)
        self.writer = writer
        self.native_writer = native_writer or NativeWriter(
            writer.pool, writer.retry, capture_prompts=writer.capture_prompts
        )
        self.batch_spans = batch_spans
        self.interval_s = interval_s
        self.stats = DrainStats()
        self._backoff_s = 0.0

    def pending_files(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.spool_dir) if is_ready_spool_file(n))
        except FileNotFoundError:
            return []

    async def run(self) -> None:
        """Drain until cancelled."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                drained = await self.drain_once()
            except RETRYABLE_ERRORS as exc:
                self.stats.database_up = False
                self.stats.last_error = f"database unavailable: {exc}"
                self._backoff_s = min(max(self._backoff_s * 2, 0.5), 30.0)
                log.warning("spool drain paused %.1fs: %s", self._backoff_s, exc)
                await asyncio.sleep(self._backoff_s)
                continue
            self._backoff_s = 0.0
            if not drained:
                await asyncio.sleep(self.interval_s)

    async def drain_once(self) -> int:
        """Drain up to ``batch_spans`` spans' worth of files; return how many files were taken."""
        opened: list[_OpenFile] = []
        try:
            total = 0
            for name in self.pending_files():
                item = self._open_locked(self.spool_dir / name)
                if item is None:
                    continue
                opened.append(item)
                total += len(item.spans) + len(item.logs) + len(item.metrics)
                if total >= self.batch_spans:
                    break
            if not opened:
                return 0
            spans = [s for item in opened for s in item.spans]
            result = await self.writer.write(spans)
            logs = await self.native_writer.write_logs([r for item in opened for r in item.logs])
            metrics = await self.native_writer.write_metrics([p for item in opened for p in item.metrics])
            self.stats.database_up = True
            self.stats.spans_written += result.stored
            self.stats.log_records_written += logs.stored
            self.stats.metric_points_written += metrics.stored
            if result.rejected:
                self._keep_rejected_spans(result.rejected)
            for reason_list in (logs.rejected, metrics.rejected):
                if reason_list:
                    self._keep_rejected_records(reason_list)
            for item in opened:
                self._finish(item)
            self.stats.files_drained += len(opened)
            return len(opened)
        finally:
            for item in opened:
                with contextlib.suppress(OSError):
                    os.close(item.fd)

    def _open_locked(self, path: Path) -> _OpenFile | None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None  # another drainer finished it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        if not path.exists():  # removed between listing and locking
            os.close(fd)
            return None
        item = _OpenFile(path=path, fd=fd)
        size = os.fstat(fd).st_size
        if size > MAX_SPOOL_FILE_BYTES:
            item.errors.append(f"file is {size} bytes, over the {MAX_SPOOL_FILE_BYTES} limit")
            return item
        with os.fdopen(os.dup(fd), "rb") as handle:
            for line in handle:
                self._decode_line(item, line)
        return item

    def _decode_line(self, item: _OpenFile, line: bytes) -> None:
        if not line.strip():
            return
        try:
            payload = json.loads(line.decode("utf-8", "replace"))
            batch: DecodedBatch | DecodedLogs | DecodedMetrics
            if isinstance(payload, dict) and "resourceLogs" in payload:
                batch = decode_logs_json_object(payload)
                item.logs.extend(batch.records)
            elif isinstance(payload, dict) and "resourceMetrics" in payload:
                batch = decode_metrics_json_object(payload)
                item.metrics.extend(batch.points)
            else:
                batch = decode_json_object(payload)
                item.spans.extend(batch.spans)
        except (ValueError, RecursionError, MalformedRequest) as exc:
            item.bad_lines.append(line)
            item.errors.append(f"line is not an OTLP/JSON request: {str(exc)[:200]}")
            return
        if batch.rejected:
            item.bad_lines.append(line)
            item.errors.append(batch.error_message)
            self.stats.spans_rejected += batch.rejected

    def _finish(self, item: _OpenFile) -> None:
        """Remove a drained file; a file with bad content is moved under rejected/ instead."""
        if item.errors:
            rejected = self.spool_dir / REJECTED_DIR
            rejected.mkdir(exist_ok=True)
            os.replace(item.path, rejected / item.path.name)
            self.stats.files_rejected += 1
            log.warning(
                "spool file %s kept in %s/: %s", item.path.name, REJECTED_DIR, "; ".join(item.errors)[:500]
            )
        else:
            with contextlib.suppress(FileNotFoundError):
                item.path.unlink()

    def _keep_rejected_spans(self, rejected: list[tuple[SpanRecord, str]]) -> None:
        self.stats.spans_rejected += len(rejected)
        line = request_to_otlp_json(records_to_request([span for span, _ in rejected]))
        stem = f"db-rejected-{time.time_ns()}-{os.getpid()}"
        write_spool_file(str(self.spool_dir / REJECTED_DIR), stem, [line])
        log.warning("%d spans rejected by the database kept in %s/%s.json", len(rejected), REJECTED_DIR, stem)

    def _keep_rejected_records(
        self, rejected: list[tuple[LogRecordData, str]] | list[tuple[MetricPointData, str]]
    ) -> None:
        """Log records / metric points the database refused, kept as JSON with the reason."""
        self.stats.records_rejected += len(rejected)
        line = json.dumps(
            {"rejectedRecords": [{"reason": reason, "record": repr(record)} for record, reason in rejected]}
        ).encode("utf-8")
        stem = f"db-rejected-records-{time.time_ns()}-{os.getpid()}"
        write_spool_file(str(self.spool_dir / REJECTED_DIR), stem, [line])
        log.warning(
            "%d records rejected by the database kept in %s/%s.json", len(rejected), REJECTED_DIR, stem
        )
