"""Where ``ExecutionTracer`` sends its spans, and how healthy that is.

The target is OTLP/HTTP (protobuf) when an endpoint is configured (argument, else the standard
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT``), else the spool
directory. ``ObservedExporter`` wraps the exporter to remember how the last export went, and
``probe`` checks the target itself (a TCP connect, or a test file written to the spool).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from traceability.instrumentation.env import (
    OTLP_ENDPOINT_ENV,
    OTLP_PROTOCOL_ENV,
    OTLP_TRACES_ENDPOINT_ENV,
    OTLP_TRACES_PROTOCOL_ENV,
)
from traceability.instrumentation.spool_exporter import SpoolSpanExporter

log = logging.getLogger(__name__)

_PROTOCOL_ENVS = (OTLP_TRACES_PROTOCOL_ENV, OTLP_PROTOCOL_ENV)
_TRACES_PATH = "v1/traces"
PROBE_TIMEOUT_S = 2.0

TargetKind = Literal["otlp", "spool", "custom"]


@dataclass(frozen=True)
class ExportTarget:
    kind: TargetKind
    location: str  # the traces URL, the spool directory, or a description of a custom exporter


def resolve_otlp_traces_url(endpoint: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The OTLP/HTTP traces URL: ``endpoint`` (a base URL, like ``OTEL_EXPORTER_OTLP_ENDPOINT``),
    else ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` as is, else ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/traces``."""
    env = os.environ if environ is None else environ
    if endpoint:
        return f"{endpoint.removesuffix('/')}/{_TRACES_PATH}"
    if env.get(OTLP_TRACES_ENDPOINT_ENV):
        return env[OTLP_TRACES_ENDPOINT_ENV]
    if env.get(OTLP_ENDPOINT_ENV):
        return f"{env[OTLP_ENDPOINT_ENV].removesuffix('/')}/{_TRACES_PATH}"
    return None


def build_exporter(otlp_endpoint: str | None, spool_dir: str | None) -> tuple[SpanExporter, ExportTarget]:
    """The OTLP/HTTP exporter when an endpoint is configured, else the spool exporter."""
    url = resolve_otlp_traces_url(otlp_endpoint)
    if url is None:
        spool = SpoolSpanExporter(spool_dir)
        return spool, ExportTarget("spool", spool.spool_dir)
    for name in _PROTOCOL_ENVS:
        protocol = os.environ.get(name)
        if protocol and protocol != "http/protobuf":
            log.warning("%s=%s is not supported by ExecutionTracer; using http/protobuf", name, protocol)
            break
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=url), ExportTarget("otlp", url)


class ObservedExporter(SpanExporter):
    """Delegates to ``inner`` and remembers the outcome of every export, for ``health_check``."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self.exported_spans = 0
        self.failed_spans = 0
        self.last_export_ok: bool | None = None
        self.last_error: str | None = None

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
            error = None if result is SpanExportResult.SUCCESS else getattr(self.inner, "last_error", None)
        except Exception as exc:  # a third-party exporter that raises must not reach the host
            log.warning("span exporter %s raised: %s", type(self.inner).__name__, exc)
            result, error = SpanExportResult.FAILURE, f"{type(exc).__name__}: {exc}"
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self.exported_spans += len(spans)
                self.last_export_ok = True
                self.last_error = None
            else:
                self.failed_spans += len(spans)
                self.last_export_ok = False
                self.last_error = error or f"{type(self.inner).__name__} reported FAILURE"
        return result

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self.inner.shutdown()


def _probe_spool(spool_dir: str) -> tuple[bool, str]:
    probe = os.path.join(spool_dir, f".health-{os.getpid()}-{os.urandom(4).hex()}")
    try:
        os.makedirs(spool_dir, mode=0o700, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return False, f"spool directory {spool_dir} is not writable: {exc}"
    return True, f"spool directory {spool_dir} is writable"


async def _probe_otlp(url: str) -> tuple[bool, str]:
    parts = urlsplit(url)
    if not parts.hostname:
        return False, f"OTLP endpoint {url!r} has no host"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), PROBE_TIMEOUT_S)
    except (OSError, ValueError, TimeoutError) as exc:
        return False, f"OTLP endpoint {url} is unreachable: {exc or type(exc).__name__}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True, f"OTLP endpoint {url} accepts connections"


async def probe(target: ExportTarget) -> tuple[bool | None, str]:
    """(reachable, detail); None when the target is a custom exporter this module cannot check."""
    if target.kind == "spool":
        return await asyncio.to_thread(_probe_spool, target.location)
    if target.kind == "otlp":
        return await _probe_otlp(target.location)
    return None, f"custom exporter {target.location}: not probed"
