"""Lineage API settings: argument, else environment variable, else default (serving/service_settings.py)."""

from __future__ import annotations

from pydantic import Field

from traceability.exporter.storage.database import resolve_dsn
from traceability.instrumentation.env import (
    ANALYTICS_MIN_SAMPLE_ENV,
    API_HOST_ENV,
    API_MAX_BODY_BYTES_ENV,
    API_PORT_ENV,
    CORS_ORIGINS_ENV,
    DERIVER_ENV,
    DERIVER_INTERVAL_S_ENV,
    JAEGER_UI_URL_ENV,
)
from traceability.serving.service_settings import EnvBool, EnvList, ServiceSettings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8053
DEFAULT_JAEGER_UI_URL = "http://localhost:16686"
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
# Executions an analytics trend class and growth figure need (below: insufficient_data); the
# feedback loop's min_sample_size has the same default.
DEFAULT_ANALYTICS_MIN_SAMPLE = 30


class Settings(ServiceSettings):
    """Everything the lineage API needs; :meth:`resolve` adds the access policy and limits."""

    host: str = Field(DEFAULT_HOST, validation_alias=API_HOST_ENV)
    port: int = Field(DEFAULT_PORT, ge=0, le=65535, validation_alias=API_PORT_ENV)
    jaeger_ui_url: str = Field(DEFAULT_JAEGER_UI_URL, validation_alias=JAEGER_UI_URL_ENV)
    jaeger_configured: bool = False  # a Jaeger UI was named (argument or JAEGER_UI_URL): links point at it
    # derive patterns from stored spans in the background
    run_deriver: EnvBool = Field(True, validation_alias=DERIVER_ENV)
    # idle wait between deriver polls
    deriver_interval_s: float = Field(1.0, gt=0, allow_inf_nan=False, validation_alias=DERIVER_INTERVAL_S_ENV)
    deriver_batch_size: int = 500  # hook executions read per deriver step
    pool_min_size: int = 2
    pool_max_size: int = 20
    pool_timeout_s: float = 5.0  # connect timeout; beyond it the API answers 503
    ancestry_max_depth: int = 50  # upper bound a caller may ask for with ?max_depth
    # CORS closed unless origins are listed (comma-separated)
    cors_origins: EnvList = Field((), validation_alias=CORS_ORIGINS_ENV)
    # larger request bodies get 413
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1, validation_alias=API_MAX_BODY_BYTES_ENV)
    # for trend classes and growth
    analytics_min_sample_size: int = Field(
        DEFAULT_ANALYTICS_MIN_SAMPLE, ge=1, validation_alias=ANALYTICS_MIN_SAMPLE_ENV
    )

    def jaeger_trace_url(self, trace_hex: str) -> str | None:
        """The trace in the configured Jaeger UI; None when no Jaeger was configured."""
        return f"{self.jaeger_ui_url}/trace/{trace_hex}" if self.jaeger_configured else None

    @classmethod
    def resolve(
        cls,
        *,
        db_url: str | None = None,
        host: str | None = None,
        port: int | None = None,
        jaeger_ui_url: str | None = None,
        run_deriver: bool | None = None,
        deriver_interval_s: float | None = None,
        analytics_min_sample_size: int | None = None,
    ) -> Settings:
        """Settings with the bearer-token policy for the bind address (raises InsecureBind for a
        tokenless public bind) and the serving limits; ValueError without a database URL."""
        settings = cls.for_service(
            resolve_dsn(db_url),
            host=host or None,
            port=port,
            jaeger_ui_url=jaeger_ui_url or None,
            run_deriver=run_deriver,
            deriver_interval_s=deriver_interval_s,
            analytics_min_sample_size=analytics_min_sample_size,
        )
        return settings.model_copy(
            update={
                "jaeger_ui_url": settings.jaeger_ui_url.rstrip("/"),
                "jaeger_configured": "jaeger_ui_url" in settings.model_fields_set,
            }
        )
