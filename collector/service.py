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
from traceability.collector.grpc_receiver import start_grpc_server
from traceability.collector.receiver import OtlpReceiver, create_receiver_app
from traceability.collector.settings import CollectorSettings
from traceability.exporter.storage.database import LazyPool
from traceability.exporter.storage.native_writer import NativeWriter
from traceability.exporter.storage.writer import RetryPolicy, SpanWriter
from traceability.serving.protocol import server_options

log = logging.getLogger(__name__)


def create_collector_app(settings: CollectorSettings) -> Starlette:
    """The ASGI app; its lifespan runs the drainer and closes the pool."""
    pool = LazyPool(settings.db_url)
    capture = settings.capture_prompts
    receive_retry = RetryPolicy(deadline_s=settings.db_write_timeout_s)
    drain_retry = RetryPolicy(deadline_s=30.0)
    drainer = SpoolDrainer(
        settings.spool_dir,
        SpanWriter(pool, drain_retry, capture_prompts=capture),
        NativeWriter(pool, drain_retry, capture_prompts=capture),
        batch_spans=settings.drain_batch_spans,
        interval_s=settings.drain_interval_s,
        stall_after_s=settings.drain_stall_s,
    )
    receiver = OtlpReceiver(
        settings,
        SpanWriter(pool, receive_retry, capture_prompts=capture),
        drainer,
        NativeWriter(pool, receive_retry, capture_prompts=capture),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        drainer.start()
        grpc_server = None
        if settings.grpc_port:
            try:
                grpc_server = await start_grpc_server(receiver, settings.host, settings.grpc_port)
                receiver.grpc_state = f"listening on {settings.host}:{settings.grpc_port}"
            except (OSError, RuntimeError) as exc:  # HTTP still serves; healthz says why gRPC does not
                receiver.grpc_state = f"not listening: {exc}"
                log.error("OTLP/gRPC: %s", exc)
        try:
            yield
        finally:
            if grpc_server is not None:
                await grpc_server.stop(grace=5)
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
        "collector: OTLP/HTTP on http://%s:%d/v1/{traces,logs,metrics}, OTLP/gRPC on :%s, spool %s, %d worker(s)",
        settings.host,
        settings.port,
        settings.grpc_port or "off",
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
