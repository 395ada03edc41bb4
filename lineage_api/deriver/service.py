"""The deriver as a background task of the API: poll for new tool spans, derive, repeat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from traceability.exporter.storage.errors import TRANSIENT_DB_ERRORS
from traceability.lineage_api.errors import DatabaseUnavailable
from traceability.lineage_api.pool import PoolHolder
from traceability.lineage_api.settings import Settings

_UNAVAILABLE: tuple[type[Exception], ...] = (DatabaseUnavailable, *TRANSIENT_DB_ERRORS)

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 30.0


@dataclass
class DeriverStatus:
    running: bool = False
    executions_processed: int = 0
    last_run_at: float | None = None  # epoch seconds
    last_error: str | None = None
    errors: int = 0
    spans_skipped: int = 0  # tool spans that could not be derived (recorded with their error)


class DeriverService:
    """Runs the pattern deriver until stopped; survives PostgreSQL outages with backoff."""

    def __init__(self, holder: PoolHolder, settings: Settings) -> None:
        self._holder = holder
        self._settings = settings
        self._task: asyncio.Task[None] | None = None
        self.status = DeriverStatus()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="pattern-deriver")

    async def stop(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        from traceability.lineage_api.deriver.pipeline import PatternDeriver

        deriver = PatternDeriver(batch_size=self._settings.deriver_batch_size)
        self.status.running = True
        backoff = self._settings.deriver_interval_s
        try:
            while True:
                try:
                    pool = await self._holder.get()
                    result = await deriver.run(pool, max_batches=1)
                    self.status.executions_processed += result.executions
                    self.status.spans_skipped += result.failed
                    self.status.last_run_at = time.time()
                    self.status.last_error = None
                    backoff = self._settings.deriver_interval_s
                    if result.executions == 0:
                        await asyncio.sleep(self._settings.deriver_interval_s)
                except _UNAVAILABLE as exc:
                    self._note_error(exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug must not kill the API; log it and retry later
                    log.exception("pattern deriver step failed")
                    self._note_error(exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            self.status.running = False

    def _note_error(self, exc: BaseException) -> None:
        self.status.errors += 1
        self.status.last_error = f"{type(exc).__name__}: {exc}"
