"""The collector's and the lineage API's settings (pydantic-settings): argument, else environment
variable, else default; a bad environment value is logged (variable, value, default) and the
default used, so the service still starts."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from traceability.collector.settings import CollectorSettings
from traceability.instrumentation import env
from traceability.lineage_api.settings import Settings

DSN = "postgresql://settings.test/db"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    ("variable", "text", "field", "default"),
    [
        (env.COLLECTOR_PORT_ENV, "abc", "port", 4318),
        (env.COLLECTOR_PORT_ENV, "65536", "port", 4318),
        (env.COLLECTOR_GRPC_PORT_ENV, "-1", "grpc_port", 4317),
        (env.COLLECTOR_WORKERS_ENV, "0", "workers", 1),
        (env.MAX_BODY_BYTES_ENV, "16MiB", "max_body_bytes", 16 * 1024 * 1024),
        (env.DRAIN_STALL_S_ENV, "soon", "drain_stall_s", 120.0),
        (env.DRAIN_STALL_S_ENV, "0", "drain_stall_s", 120.0),
        (env.DRAIN_STALL_S_ENV, "inf", "drain_stall_s", 120.0),
    ],
)
def test_collector_bad_value_logged_default_used(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    variable: str,
    text: str,
    field: str,
    default: float,
) -> None:
    monkeypatch.setenv(variable, text)
    with caplog.at_level(logging.WARNING):
        settings = CollectorSettings.resolve(db_url=DSN)
    assert getattr(settings, field) == default
    [message] = _warnings(caplog)
    assert message.startswith(f"{variable}={text!r} is not valid (")
    assert message.endswith(f"; using the default {default!r}")


@pytest.mark.parametrize(
    ("variable", "text", "field", "default"),
    [
        (env.API_PORT_ENV, "eighty", "port", 8053),
        (env.API_MAX_BODY_BYTES_ENV, "1.5", "max_body_bytes", 16 * 1024 * 1024),
        (env.ANALYTICS_MIN_SAMPLE_ENV, "0", "analytics_min_sample_size", 30),
        (env.DERIVER_INTERVAL_S_ENV, "fast", "deriver_interval_s", 1.0),
        (env.DERIVER_INTERVAL_S_ENV, "nan", "deriver_interval_s", 1.0),
        (env.DERIVER_INTERVAL_S_ENV, "-2", "deriver_interval_s", 1.0),
    ],
)
def test_api_bad_value_logged_default_used(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    variable: str,
    text: str,
    field: str,
    default: float,
) -> None:
    monkeypatch.setenv(variable, text)
    with caplog.at_level(logging.WARNING):
        settings = Settings.resolve(db_url=DSN)
    assert getattr(settings, field) == default
    [message] = _warnings(caplog)
    assert message.startswith(f"{variable}={text!r} is not valid (")
    assert message.endswith(f"; using the default {default!r}")


def test_serving_limits_bad_value_logged_default_used(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Both services' connection limits (serving/limits.py) go through the same parser."""
    monkeypatch.setenv(env.HEADER_TIMEOUT_S_ENV, "ten")
    monkeypatch.setenv(env.MAX_CONNECTIONS_ENV, "-4")
    with caplog.at_level(logging.WARNING):
        collector = CollectorSettings.resolve(db_url=DSN)
        api = Settings.resolve(db_url=DSN)
    assert collector.limits.header_timeout_s == api.limits.header_timeout_s == 10.0
    assert collector.limits.max_connections == api.limits.max_connections > 0
    assert _warnings(caplog) == 2 * [
        f"{env.HEADER_TIMEOUT_S_ENV}='ten' is not a number >= 0; using the default 10.0",
        f"{env.MAX_CONNECTIONS_ENV}='-4' is not an integer >= 0; using the default 0",
    ]


def test_collector_argument_beats_env_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        env.COLLECTOR_PORT_ENV,
        env.COLLECTOR_HOST_ENV,
        env.COLLECTOR_WORKERS_ENV,
        env.SPOOL_DIR_ENV,
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(env.XDG_STATE_HOME_ENV, "/xdg-state")
    default = CollectorSettings.resolve(db_url=DSN)
    assert (default.port, default.host, default.workers) == (4318, "127.0.0.1", 1)
    assert default.spool_dir == "/xdg-state/traceability/spool"
    monkeypatch.setenv(env.COLLECTOR_PORT_ENV, "5000")
    monkeypatch.setenv(env.COLLECTOR_HOST_ENV, "localhost")
    monkeypatch.setenv(env.COLLECTOR_WORKERS_ENV, "3")
    monkeypatch.setenv(env.SPOOL_DIR_ENV, "/env-spool")
    from_env = CollectorSettings.resolve(db_url=DSN)
    assert (from_env.port, from_env.host, from_env.workers, from_env.spool_dir) == (
        5000,
        "localhost",
        3,
        "/env-spool",
    )
    given = CollectorSettings.resolve(db_url=DSN, port=6000, host="::1", workers=2, spool_dir="/arg-spool")
    assert (given.port, given.host, given.workers, given.spool_dir) == (6000, "::1", 2, "/arg-spool")


def test_api_argument_beats_env_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (env.API_PORT_ENV, env.DERIVER_ENV, env.JAEGER_UI_URL_ENV, env.ANALYTICS_MIN_SAMPLE_ENV):
        monkeypatch.delenv(name, raising=False)
    default = Settings.resolve(db_url=DSN)
    assert (default.port, default.run_deriver, default.analytics_min_sample_size) == (8053, True, 30)
    assert default.jaeger_trace_url("ab") is None
    monkeypatch.setenv(env.API_PORT_ENV, "9000")
    monkeypatch.setenv(env.DERIVER_ENV, "off")
    monkeypatch.setenv(env.ANALYTICS_MIN_SAMPLE_ENV, "12")
    monkeypatch.setenv(env.JAEGER_UI_URL_ENV, "http://jaeger.env:16686/")
    from_env = Settings.resolve(db_url=DSN)
    assert (from_env.port, from_env.run_deriver, from_env.analytics_min_sample_size) == (9000, False, 12)
    assert from_env.jaeger_trace_url("ab") == "http://jaeger.env:16686/trace/ab"
    given = Settings.resolve(
        db_url=DSN, port=9100, run_deriver=True, analytics_min_sample_size=5, jaeger_ui_url="http://j.arg"
    )
    assert (given.port, given.run_deriver, given.analytics_min_sample_size) == (9100, True, 5)
    assert given.jaeger_trace_url("ab") == "http://j.arg/trace/ab"


def test_database_url_argument_beats_both_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(env.DB_URL_ENV, raising=False)
    monkeypatch.setenv(env.DB_URL_EXTERNAL_ENV, "postgresql://external/db")
    assert Settings.resolve().db_url == CollectorSettings.resolve().db_url == "postgresql://external/db"
    monkeypatch.setenv(env.DB_URL_ENV, "postgresql://primary/db")
    assert Settings.resolve().db_url == CollectorSettings.resolve().db_url == "postgresql://primary/db"
    assert Settings.resolve(db_url=DSN).db_url == CollectorSettings.resolve(db_url=DSN).db_url == DSN
    monkeypatch.delenv(env.DB_URL_ENV)
    monkeypatch.delenv(env.DB_URL_EXTERNAL_ENV)
    with pytest.raises(ValueError, match=f"no database URL: pass --db-url or set {env.DB_URL_ENV}"):
        Settings.resolve()


def test_a_bad_argument_is_the_callers_error() -> None:
    with pytest.raises(ValidationError, match="port"):
        CollectorSettings.resolve(db_url=DSN, port=70000)
    with pytest.raises(ValidationError, match="workers"):
        CollectorSettings.resolve(db_url=DSN, workers=0)


def test_workers_get_the_same_settings_through_as_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The supervisor exports as_env(); each worker resolves the same settings from it."""
    settings = CollectorSettings.resolve(db_url=DSN, port=4999, grpc_port=0, workers=2, capture_prompts=True)
    for name, value in settings.as_env().items():
        monkeypatch.setenv(name, value)
    again = CollectorSettings.resolve()
    assert again.model_dump(exclude={"access"}) == settings.model_dump(exclude={"access"})
