"""Collector settings: argument, else environment variable, else default (serving/service_settings.py)."""

from __future__ import annotations

from pydantic import Field

from traceability.exporter.storage.database import resolve_dsn
from traceability.instrumentation.env import (
    CAPTURE_PROMPTS_ENV,
    COLLECTOR_GRPC_PORT_ENV,
    COLLECTOR_HOST_ENV,
    COLLECTOR_PORT_ENV,
    COLLECTOR_WORKERS_ENV,
    DB_URL_ENV,
    DRAIN_STALL_S_ENV,
    MAX_BODY_BYTES_ENV,
    MAX_INFLIGHT_BYTES_ENV,
    SPOOL_DIR_ENV,
)
from traceability.instrumentation.spool import default_spool_dir
from traceability.serving.service_settings import EnvBool, ServiceSettings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318
DEFAULT_GRPC_PORT = 4317
MiB = 1024 * 1024


class CollectorSettings(ServiceSettings):
    """Resolved settings; ``as_env`` hands them to worker processes, which ``resolve()`` again."""

    spool_dir: str = Field(default_factory=default_spool_dir, validation_alias=SPOOL_DIR_ENV)
    host: str = Field(DEFAULT_HOST, validation_alias=COLLECTOR_HOST_ENV)
    port: int = Field(DEFAULT_PORT, ge=0, le=65535, validation_alias=COLLECTOR_PORT_ENV)
    # OTLP/gRPC; 0 turns it off
    grpc_port: int = Field(DEFAULT_GRPC_PORT, ge=0, le=65535, validation_alias=COLLECTOR_GRPC_PORT_ENV)
    # compressed request body
    max_body_bytes: int = Field(16 * MiB, ge=1, validation_alias=MAX_BODY_BYTES_ENV)
    max_decompressed_bytes: int = 64 * MiB
    # request bytes (as received, then decompressed) held at once; above: 429
    max_inflight_bytes: int = Field(64 * MiB, ge=1, validation_alias=MAX_INFLIGHT_BYTES_ENV)
    db_write_timeout_s: float = 2.0  # then the batch is queued on disk and 200 is answered
    drain_interval_s: float = 0.25
    drain_batch_spans: int = 5000
    # pending files and no drain batch finished for this long: unhealthy
    drain_stall_s: float = Field(120.0, gt=0, allow_inf_nan=False, validation_alias=DRAIN_STALL_S_ENV)
    retry_after_s: int = 1
    # processes serving the port (each also drains the spool); one per core for throughput
    workers: int = Field(1, ge=1, validation_alias=COLLECTOR_WORKERS_ENV)
    # keep the prompt text Claude Code's own telemetry sends (with OTEL_LOG_USER_PROMPTS=1), redacted;
    # the same setting as the hooks'
    capture_prompts: EnvBool = Field(False, validation_alias=CAPTURE_PROMPTS_ENV)

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
        """Settings with the bearer-token policy for the bind address (raises InsecureBind for a
        tokenless public bind) and the serving limits; ValueError without a database URL."""
        return cls.for_service(
            resolve_dsn(db_url),
            spool_dir=spool_dir or None,
            host=host or None,
            port=port,
            grpc_port=grpc_port,
            workers=workers,
            capture_prompts=capture_prompts,
        )

    def as_env(self) -> dict[str, str]:
        return {
            DB_URL_ENV: self.db_url,
            SPOOL_DIR_ENV: self.spool_dir,
            COLLECTOR_HOST_ENV: self.host,
            COLLECTOR_PORT_ENV: str(self.port),
            COLLECTOR_GRPC_PORT_ENV: str(self.grpc_port),
            MAX_BODY_BYTES_ENV: str(self.max_body_bytes),
            MAX_INFLIGHT_BYTES_ENV: str(self.max_inflight_bytes),
            DRAIN_STALL_S_ENV: str(self.drain_stall_s),
            COLLECTOR_WORKERS_ENV: str(self.workers),
            CAPTURE_PROMPTS_ENV: "1" if self.capture_prompts else "0",
            **self.limits.as_env(),
        }
