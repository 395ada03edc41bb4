"""Wires the collector: one lazily-connected pool, the OTLP receiver and the spool drainer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from traceability.collector.drainer import SpoolDrainer
from traceability.collector.receiver import OtlpReceiver, create_receiver_app
from traceability.collector.settings import CollectorSettings
from traceability.exporter.database import LazyPool
from traceability.exporter.writer import RetryPolicy, SpanWriter

log = logging.getLogger(__name__)


def create_collector_app(settings: CollectorSettings) -> Starlette:
    """The ASGI app; its lifespan runs the drainer and closes the pool."""
    pool = LazyPool(settings.db_url)
    receiver_writer = SpanWriter(pool, RetryPolicy(deadline_s=settings.db_write_timeout_s))
    drainer = SpoolDrainer(
        settings.spool_dir,
        SpanWriter(pool, RetryPolicy(deadline_s=30.0)),
        batch_spans=settings.drain_batch_spans,
        interval_s=settings.drain_interval_s,
    )
    receiver = OtlpReceiver(settings, receiver_writer, drainer)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(drainer.run(), name="spool-drainer")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await pool.close()

    app = create_receiver_app(receiver, lifespan)
    app.state.receiver = receiver
    app.state.drainer = drainer
    return app


def serve(settings: CollectorSettings, log_level: str = "info") -> None:
    """Run the collector until SIGINT/SIGTERM."""
    import uvicorn

    log.info(
        "collector: OTLP/HTTP on http://%s:%d/v1/traces, spool %s",
        settings.host,
        settings.port,
        settings.spool_dir,
    )
    uvicorn.run(
        create_collector_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
