"""Collector settings: argument, else environment variable, else default."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from traceability.exporter.storage.database import resolve_dsn
from traceability.hooks.settings import CAPTURE_PROMPTS_ENV
from traceability.instrumentation.spool import resolve_spool_dir
from traceability.serving.auth import AccessPolicy
from traceability.serving.limits import ServerLimits

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318
DEFAULT_GRPC_PORT = 4317
MiB = 1024 * 1024
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

log = logging.getLogger(__name__)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE or raw in _FALSE:
        return raw in _TRUE
    log.warning("%s=%r is not a boolean (1/0, true/false, yes/no, on/off): using %s", name, raw, default)
    return default


def _env_seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment; a bad value is logged, the default used."""
    value = os.environ.get(name)
    if not value:
        return default
    try:
        seconds = float(value)
        if not seconds > 0 or seconds == float("inf"):
            raise ValueError("must be a positive number")
    except ValueError as exc:
        log.warning("%s=%r is not a positive number of seconds (%s); using %s", name, value, exc, default)
        return default
    return seconds


@dataclass(frozen=True)
class CollectorSettings:
    """Resolved settings; ``as_env`` hands them to worker processes, which ``resolve()`` again."""

    db_url: str
    spool_dir: str
    access: AccessPolicy = field(default_factory=lambda: AccessPolicy(token=None))
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    grpc_port: int = DEFAULT_GRPC_PORT  # OTLP/gRPC; 0 turns it off
    max_body_bytes: int = 16 * MiB  # compressed request body
    max_decompressed_bytes: int = 64 * MiB
    max_inflight_bytes: int = (
        64 * MiB
    )  # request bytes (as received, then decompressed) held at once; above: 429
    db_write_timeout_s: float = 2.0  # then the batch is queued on disk and 200 is answered
    drain_interval_s: float = 0.25
    drain_batch_spans: int = 5000
    drain_stall_s: float = 120.0  # pending files and no drain batch finished for this long: unhealthy
    retry_after_s: int = 1
    workers: int = 1  # processes serving the port (each also drains the spool); one per core for throughput
    # keep the prompt text Claude Code's own telemetry sends (with OTEL_LOG_USER_PROMPTS=1), redacted;
    # the same setting as the hooks' (TRACEABILITY_CAPTURE_PROMPTS)
    capture_prompts: bool = False
    limits: ServerLimits = field(default_factory=ServerLimits)  # connection timeouts and caps, Host names

    @classmethod
    def resolve(
        cls,
        *,
        db_url: str | None = None,
        spool_dir: str | None = None,
        host: str | None = None,
        port: int | None = None,
        grpc_port: int | None = None,
        workers: int | None = None,
        capture_prompts: bool | None = None,
    ) -> CollectorSettings:
        dsn = resolve_dsn(db_url)
        if not dsn:
            raise ValueError("no database URL: pass --db-url or set TRACEABILITY_DB_URL")
        host = host or os.environ.get("TRACEABILITY_COLLECTOR_HOST", DEFAULT_HOST)
        return cls(
            db_url=dsn,
            spool_dir=resolve_spool_dir(spool_dir),
            access=AccessPolicy.resolve(host),
            host=host,
            port=port if port is not None else _env_int("TRACEABILITY_COLLECTOR_PORT", DEFAULT_PORT),
            grpc_port=grpc_port
            if grpc_port is not None
            else _env_int("TRACEABILITY_COLLECTOR_GRPC_PORT", DEFAULT_GRPC_PORT),
            max_body_bytes=_env_int("TRACEABILITY_MAX_BODY_BYTES", 16 * MiB),
            max_inflight_bytes=_env_int("TRACEABILITY_MAX_INFLIGHT_BYTES", 64 * MiB),
            drain_stall_s=_env_seconds("TRACEABILITY_DRAIN_STALL_S", 120.0),
            workers=max(1, workers if workers is not None else _env_int("TRACEABILITY_COLLECTOR_WORKERS", 1)),
            capture_prompts=capture_prompts
            if capture_prompts is not None
            else _env_bool(CAPTURE_PROMPTS_ENV, False),
            limits=ServerLimits.resolve(),
        )

    def as_env(self) -> dict[str, str]:
        return {
            "TRACEABILITY_DB_URL": self.db_url,
            "TRACEABILITY_SPOOL_DIR": self.spool_dir,
            "TRACEABILITY_COLLECTOR_HOST": self.host,
            "TRACEABILITY_COLLECTOR_PORT": str(self.port),
            "TRACEABILITY_COLLECTOR_GRPC_PORT": str(self.grpc_port),
            "TRACEABILITY_MAX_BODY_BYTES": str(self.max_body_bytes),
            "TRACEABILITY_MAX_INFLIGHT_BYTES": str(self.max_inflight_bytes),
            "TRACEABILITY_DRAIN_STALL_S": str(self.drain_stall_s),
            "TRACEABILITY_COLLECTOR_WORKERS": str(self.workers),
            CAPTURE_PROMPTS_ENV: "1" if self.capture_prompts else "0",
            **self.limits.as_env(),
        }
