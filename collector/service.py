"""Wires the collector: one lazily-connected pool, the OTLP receiver and the spool drainer."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from traceability.collector.drainer import SpoolDrainer
from traceability.collector.receiver import OtlpReceiver, create_receiver_app
from traceability.collector.settings import CollectorSettings
from traceability.exporter.database import LazyPool
from traceability.exporter.writer import RetryPolicy, SpanWriter
from traceability.serving.protocol import server_options

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
        stall_after_s=settings.drain_stall_s,
    )
    receiver = OtlpReceiver(settings, receiver_writer, drainer)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        drainer.start()
        try:
            yield
        finally:
            await drainer.stop()
            await pool.close()

    app = create_receiver_app(receiver, lifespan)
    app.state.receiver = receiver
    app.state.drainer = drainer
    return app


def worker_app() -> Starlette:
    """App factory run in each worker process of a multi-worker collector.

    The settings come from the environment the supervisor exported; the worker asks the kernel to
    stop it when the supervisor dies, so a killed collector leaves no worker holding the port.
    """
    _exit_with_parent()
    return create_collector_app(CollectorSettings.resolve())


def _exit_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() == 1:  # the supervisor died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def serve(settings: CollectorSettings, log_level: str = "info") -> None:
    """Run the collector until SIGINT/SIGTERM, in ``settings.workers`` processes."""
    import uvicorn

    log.info(
        "collector: OTLP/HTTP on http://%s:%d/v1/traces, spool %s, %d worker(s)",
        settings.host,
        settings.port,
        settings.spool_dir,
        settings.workers,
    )
    common = {
        "host": settings.host,
        "port": settings.port,
        "log_level": log_level,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
        **server_options(settings.limits),
    }
    if settings.workers == 1:
        uvicorn.run(create_collector_app(settings), **common)
        return
    os.environ.update(settings.as_env())
    uvicorn.run(f"{__name__}:worker_app", factory=True, workers=settings.workers, **common)
