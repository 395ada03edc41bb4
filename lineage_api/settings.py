"""Lineage API settings: argument, else environment variable, else default."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from traceability.exporter.storage.database import resolve_dsn
from traceability.serving.auth import AccessPolicy
from traceability.serving.limits import ServerLimits

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8053
DEFAULT_JAEGER_UI_URL = "http://localhost:16686"
PORT_ENV = "INTELLIGENCE_SERVICE_PORT"
HOST_ENV = "INTELLIGENCE_SERVICE_HOST"
JAEGER_UI_URL_ENV = "JAEGER_UI_URL"
DERIVER_ENV = "TRACEABILITY_DERIVER"  # "0"/"false"/"off" turns the in-process deriver off
DERIVER_INTERVAL_ENV = "TRACEABILITY_DERIVER_INTERVAL_S"
CORS_ORIGINS_ENV = "TRACEABILITY_CORS_ORIGINS"  # comma-separated origins allowed by CORS; none by default
MAX_BODY_ENV = "TRACEABILITY_API_MAX_BODY_BYTES"
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
# Executions an analytics trend class and growth figure need (below: insufficient_data); the
# feedback loop's min_sample_size has the same default.
ANALYTICS_MIN_SAMPLE_ENV = "TRACEABILITY_ANALYTICS_MIN_SAMPLE"
DEFAULT_ANALYTICS_MIN_SAMPLE = 30

log = logging.getLogger(__name__)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _env_positive_int(name: str, default: int) -> int:
    """A positive integer from the environment; a bad value is logged and the default used."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        parsed = int(value)
    except ValueError:
        parsed = 0
    if parsed < 1:
        log.warning("%s=%r is not a positive integer; using %d", name, value, default)
        return default
    return parsed


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if not value:
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    """Everything the lineage API needs; build it with :meth:`resolve`."""

    db_url: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    jaeger_ui_url: str = DEFAULT_JAEGER_UI_URL
    jaeger_configured: bool = False  # a Jaeger UI was named (argument or JAEGER_UI_URL): links point at it
    run_deriver: bool = True  # derive patterns from stored spans in the background
    deriver_interval_s: float = 1.0  # idle wait between deriver polls
    deriver_batch_size: int = 500  # hook executions read per deriver step
    pool_min_size: int = 2
    pool_max_size: int = 20
    pool_timeout_s: float = 5.0  # connect timeout; beyond it the API answers 503
    ancestry_max_depth: int = 50  # upper bound a caller may ask for with ?max_depth
    access: AccessPolicy = field(default_factory=lambda: AccessPolicy(token=None))  # bearer token rules
    cors_origins: tuple[str, ...] = ()  # CORS closed unless origins are listed
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # larger request bodies get 413
    limits: ServerLimits = field(default_factory=ServerLimits)  # connection timeouts and caps, Host names
    analytics_min_sample_size: int = DEFAULT_ANALYTICS_MIN_SAMPLE  # for trend classes and growth

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
        dsn = resolve_dsn(db_url)
        if not dsn:
            raise ValueError("no database URL: pass --db-url or set TRACEABILITY_DB_URL")
        host = host or os.environ.get(HOST_ENV, DEFAULT_HOST)
        return cls(
            db_url=dsn,
            host=host,
            port=port if port is not None else _env_int(PORT_ENV, DEFAULT_PORT),
            jaeger_ui_url=(
                jaeger_ui_url or os.environ.get(JAEGER_UI_URL_ENV) or DEFAULT_JAEGER_UI_URL
            ).rstrip("/"),
            jaeger_configured=bool(jaeger_ui_url or os.environ.get(JAEGER_UI_URL_ENV)),
            run_deriver=run_deriver if run_deriver is not None else _env_bool(DERIVER_ENV, True),
            deriver_interval_s=(
                deriver_interval_s
                if deriver_interval_s is not None
                else _env_float(DERIVER_INTERVAL_ENV, 1.0)
            ),
            access=AccessPolicy.resolve(host),  # raises InsecureBind for a tokenless public bind
            cors_origins=tuple(
                o.strip() for o in os.environ.get(CORS_ORIGINS_ENV, "").split(",") if o.strip()
            ),
            max_body_bytes=_env_int(MAX_BODY_ENV, DEFAULT_MAX_BODY_BYTES),
            limits=ServerLimits.resolve(),
            analytics_min_sample_size=(
                analytics_min_sample_size
                if analytics_min_sample_size is not None
                else _env_positive_int(ANALYTICS_MIN_SAMPLE_ENV, DEFAULT_ANALYTICS_MIN_SAMPLE)
            ),
        )
