"""The spool drainer: OTLP/JSON files in the spool directory -> committed rows -> files removed.

Each ready file (``*.json`` directly in the directory; writers rename complete files into place)
is locked with ``flock`` while it is being drained, so two collectors on one spool never take the
same file and a killed collector's files are picked up again. A file is removed only after its
spans are committed. Each line is one OTLP/JSON request of any signal (``resourceSpans``,
``resourceLogs`` or ``resourceMetrics``): the collector queues logs and metrics the same way.
Lines or spans that cannot be stored are kept, as OTLP/JSON, under
``rejected/`` with the reason beside them: nothing is silently dropped.

Only regular files inside the spool are read (see ``spool_files``); file I/O and decoding run in
a worker thread so the receiver's event loop never waits on the disk. ``run`` supervises the
drain loop: an unexpected error is logged, reported by ``health()`` and retried with backoff; a
file that keeps failing while other files drain is quarantined.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from traceability.collector.spool_files import REJECTED_DIR, OpenFile, SpoolFiles
from traceability.exporter.codec.common import MalformedRequest
from traceability.exporter.codec.logs import DecodedLogs, decode_logs_json_object
from traceability.exporter.codec.metrics import DecodedMetrics, decode_metrics_json_object
from traceability.exporter.codec.native_records import LogRecordData, MetricPointData
from traceability.exporter.codec.records import SpanRecord
from traceability.exporter.codec.traces import DecodedBatch, decode_json_object, records_to_request
from traceability.exporter.storage.errors import TRANSIENT_DB_ERRORS
from traceability.exporter.storage.native_writer import NativeWriter
from traceability.exporter.storage.writer import SpanWriter, WriteResult
from traceability.instrumentation.otlp_encode import request_to_otlp_json
from traceability.instrumentation.spool import write_spool_file

log = logging.getLogger(__name__)

DEFAULT_STALL_AFTER_S = 120.0
# A file that failed this many times while other files drained is quarantined (its content is
# at fault, not the database).
FAILURES_BEFORE_QUARANTINE = 3
MAX_RESTART_BACKOFF_S = 30.0


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
    state: str = "starting"  # running | database_down | failing | stopped
    restarts: int = 0  # unexpected errors the supervisor recovered from


class _DatabaseDown(Exception):
    pass


@dataclass
class _Failures:
    """Files that were in a batch that failed unexpectedly."""

    counts: dict[str, int] = field(default_factory=dict)
    drained_at_first: dict[str, int] = field(default_factory=dict)


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
        stall_after_s: float = DEFAULT_STALL_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.spool_dir = Path(spool_dir)
        self.files = SpoolFiles(self.spool_dir)
        self.writer = writer
        self.native_writer = native_writer or NativeWriter(
            writer.pool, writer.retry, capture_prompts=writer.capture_prompts
        )
        self.batch_spans = batch_spans
        self.interval_s = interval_s
        self.stall_after_s = stall_after_s
        self.stats = DrainStats()
        self._clock = clock
        self._backoff_s = 0.0
        self._restart_backoff_s = 0.0
        self._last_progress = clock()
        self._failures = _Failures()
        self._last_failure = ""
        self._task: asyncio.Task[None] | None = None

    def pending_files(self) -> list[str]:
        return self.files.pending()

    # -- supervision -------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name="spool-drainer")
        return self._task

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def run(self) -> None:
        """Drain until cancelled; no error but cancellation ends it."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                await self._drain_forever()
            except asyncio.CancelledError:
                self.stats.state = "stopped"
                raise
            except Exception as exc:  # supervised: report, back off, go on
                self._restart_backoff_s = min(max(self._restart_backoff_s * 2, 0.5), MAX_RESTART_BACKOFF_S)
                self.stats.state = "failing"
                self.stats.restarts += 1
                self.stats.last_error = f"drain failed: {type(exc).__name__}: {str(exc)[:400]}"
                log.exception("spool drainer failed; restarting in %.1fs", self._restart_backoff_s)
                await asyncio.sleep(self._restart_backoff_s)

    async def _drain_forever(self) -> None:
        while True:
            try:
                drained = await self.drain_once()
            except _DatabaseDown as down:
                exc = down.__cause__
                self.stats.state = "database_down"
                self.stats.database_up = False
                self.stats.last_error = f"database unavailable: {exc}"
                self._backoff_s = min(max(self._backoff_s * 2, 0.5), 30.0)
                log.warning("spool drain paused %.1fs: %s", self._backoff_s, exc)
                await asyncio.sleep(self._backoff_s)
                continue
            self._backoff_s = self._restart_backoff_s = 0.0
            self.stats.state = "running"
            self._last_progress = self._clock()
            if not drained:
                await asyncio.sleep(self.interval_s)

    def health(self) -> tuple[str, list[str]]:
        """("ok" | "degraded" | "unhealthy", what is wrong). Degraded still takes spans (on disk)."""
        problems: list[str] = []
        status = "ok"
        task = self._task
        if task is None or task.done():
            reason = "not started"
            if task is not None and not task.cancelled() and task.exception() is not None:
                reason = f"died: {task.exception()!r}"[:300]
            elif task is not None:
                reason = "stopped"
            return "unhealthy", [f"spool drainer {reason}"]
        if self.stats.state == "failing":
            status = "unhealthy"
            problems.append(
                f"spool drainer failing (restarted {self.stats.restarts}x): {self.stats.last_error}"
            )
        elif self.stats.state == "database_down":
            status = "degraded"
            problems.append(f"spool drainer waiting for the database: {self.stats.last_error}")
        else:
            idle_s = self._clock() - self._last_progress
            if idle_s > self.stall_after_s and self.pending_files():
                status = "unhealthy"
                problems.append(
                    f"spool drainer stalled: no batch finished for {idle_s:.0f}s"
                    f" with {len(self.pending_files())} files pending"
                )
        if self.files.unmovable:
            status = "unhealthy" if status == "unhealthy" else "degraded"
            problems.append(
                f"{len(self.files.unmovable)} spool entries cannot be read or moved to {REJECTED_DIR}/: "
                + "; ".join(f"{n}: {r}" for n, r in list(self.files.unmovable.items())[:3])
            )
        return status, problems

    # -- one batch ---------------------------------------------------------------------------

    async def drain_once(self) -> int:
        """Drain up to ``batch_spans`` spans' worth of files; return how many files were taken."""
        one_at_a_time = bool(self._failures.counts)
        opened = await asyncio.to_thread(self._take, one_at_a_time)
        try:
            if not opened:
                return 0
            spans = [s for item in opened for s in item.spans]
            try:
                result = await self.writer.write(spans)
                logs = await self.native_writer.write_logs([r for item in opened for r in item.logs])
                metrics = await self.native_writer.write_metrics([p for item in opened for p in item.metrics])
            except TRANSIENT_DB_ERRORS as exc:
                raise _DatabaseDown() from exc
            except Exception as exc:
                self._record_failure(opened, exc)
                raise
            self.stats.database_up = True
            self.stats.log_records_written += logs.stored
            self.stats.metric_points_written += metrics.stored
            for refused in (logs.rejected, metrics.rejected):
                if refused:
                    await asyncio.to_thread(self._keep_rejected_records, refused)
            await asyncio.to_thread(self._finish_all, opened, result)
            self._forget_failures([item.name for item in opened])
            return len(opened)
        finally:
            await asyncio.to_thread(self.files.close_all, opened)

    def _take(self, one_at_a_time: bool) -> list[OpenFile]:
        """Open, lock and decode files (in a worker thread)."""
        names = self.files.pending()
        if one_at_a_time:  # isolate a file at fault: try the least-failed file first
            names.sort(key=lambda n: self._failures.counts.get(n, 0))
        opened: list[OpenFile] = []
        total = 0
        for name in names:
            if self._quarantine_if_poison(name):
                continue
            item = self.files.open_locked(name)
            if item is None:
                continue
            if item.content is not None:
                for line in item.content.split(b"\n"):
                    self._decode_line(item, line)
                item.content = None
            opened.append(item)
            total += len(item.spans) + len(item.logs) + len(item.metrics)
            if total >= self.batch_spans or one_at_a_time:
                break
        return opened

    def _decode_line(self, item: OpenFile, line: bytes) -> None:
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
        except Exception as exc:  # whatever the line holds, it is kept aside
            item.bad_lines.append(line)
            item.errors.append(f"line cannot be decoded: {type(exc).__name__}: {str(exc)[:200]}")
            return
        if batch.rejected:
            item.bad_lines.append(line)
            item.errors.append(batch.error_message)
            self.stats.spans_rejected += batch.rejected

    def _finish_all(self, opened: list[OpenFile], result: WriteResult) -> None:
        self.stats.spans_written += result.stored
        if result.rejected:
            self._keep_rejected_spans(result.rejected)
        for item in opened:
            if item.errors:
                self.files.quarantine(item.name, "; ".join(item.errors))
                self.stats.files_rejected += 1
            else:
                self.files.remove(item.name)
        self.stats.files_drained += len(opened)

    def _keep_rejected_spans(self, rejected: list[tuple[SpanRecord, str]]) -> None:
        self.stats.spans_rejected += len(rejected)
        line = request_to_otlp_json(records_to_request([span for span, _ in rejected]))
        stem = f"db-rejected-{time.time_ns()}-{os.getpid()}"
        rejected_dir = self.spool_dir / REJECTED_DIR
        write_spool_file(str(rejected_dir), stem, [line])
        reasons = "\n".join(f"span {span.span_id}: {reason}" for span, reason in rejected)
        (rejected_dir / f"{stem}.json.reason").write_text(reasons + "\n", encoding="utf-8")
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

    # -- files at fault ----------------------------------------------------------------------

    def _record_failure(self, opened: list[OpenFile], exc: Exception) -> None:
        for item in opened:
            counts = self._failures.counts
            counts[item.name] = counts.get(item.name, 0) + 1
            self._failures.drained_at_first.setdefault(item.name, self.stats.files_drained)
        self._last_failure = f"{type(exc).__name__}: {str(exc)[:300]}"

    def _forget_failures(self, names: list[str]) -> None:
        for name in names:
            self._failures.counts.pop(name, None)
            self._failures.drained_at_first.pop(name, None)

    def _quarantine_if_poison(self, name: str) -> bool:
        """A file that failed repeatedly while other files drained is at fault: set it aside."""
        failures = self._failures.counts.get(name, 0)
        if failures < FAILURES_BEFORE_QUARANTINE:
            return False
        if self.stats.files_drained <= self._failures.drained_at_first.get(name, 0):
            return False  # nothing else drains either: the database or this code is at fault
        self.files.quarantine(
            name, f"draining failed {failures} times while other files drained: {self._last_failure}"
        )
        self.stats.files_rejected += 1
        self._forget_failures([name])
        return True
