"""DNS rebinding: with no token set, both services answer only requests whose ``Host`` names them
(the bind address, loopback names with any port, configured names); others get 421 with a message.
With a token set the token is the protection and any Host is served."""

from __future__ import annotations

import contextlib
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.api_process import ApiServer, running_api
from tests.support.collector import Collector, running_collector

TOKEN = "tok-8e1f0c2a9b7d4356"


def _status(url: str, host: str) -> tuple[int, str]:
    response = httpx.get(url, headers={"Host": host}, timeout=10)
    return response.status_code, response.text


@pytest.mark.parametrize("service", ["collector", "api"])
def test_foreign_host_is_refused_loopback_names_with_any_port_are_served(
    db_dsn: str, tmp_path: Path, service: str
) -> None:
    env = {"TRACEABILITY_ALLOWED_HOSTS": "traceability.internal"}
    context: contextlib.AbstractContextManager[Collector | ApiServer]
    if service == "collector":
        context = running_collector(db_dsn, tmp_path, extra_env=env)
    else:
        context = running_api(db_dsn, tmp_path / "api.log", extra_env=env)
    with context as server:
        url = server.url + "/healthz" if isinstance(server, Collector) else server.api + "/health"
        port = urlsplit(url).port
        for host in ("evil.example", f"evil.example:{port}", "localhost.evil.example", "127.0.0.2"):
            status, text = _status(url, host)
            assert status == 421, (host, status, text)
            assert "is not served here" in text and "TRACEABILITY_ALLOWED_HOSTS" in text
        for host in (
            f"localhost:{port}",
            "LOCALHOST",
            f"127.0.0.1:{port}",
            "[::1]:9",
            "traceability.internal:80",
        ):
            status, text = _status(url, host)
            assert status == 200, (host, status, text)


def test_with_a_token_any_host_is_served(db_dsn: str, tmp_path: Path) -> None:
    env = {"TRACEABILITY_API_TOKEN": TOKEN}
    with running_collector(db_dsn, tmp_path, extra_env=env) as collector:
        assert _status(collector.url + "/healthz", "collector.example:4318")[0] == 200


def test_limits_from_the_environment_bad_values_logged_and_defaulted(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from traceability.serving.limits import ServerLimits

    monkeypatch.setenv("TRACEABILITY_HEADER_TIMEOUT_S", "2.5")
    monkeypatch.setenv("TRACEABILITY_MAX_CONNECTIONS", "lots")
    monkeypatch.setenv("TRACEABILITY_LINGER_IDLE_S", "-1")
    monkeypatch.setenv("TRACEABILITY_ALLOWED_HOSTS", " Traceability.Internal , ,box.lan")
    limits = ServerLimits.resolve()
    assert limits.header_timeout_s == 2.5
    assert limits.max_connections == ServerLimits().max_connections
    assert limits.linger_idle_s == ServerLimits.linger_idle_s
    assert limits.allowed_hosts == ("traceability.internal", "box.lan")
    assert (
        "TRACEABILITY_MAX_CONNECTIONS='lots'" in caplog.text
        and "TRACEABILITY_LINGER_IDLE_S='-1'" in caplog.text
    )
    for name, value in limits.as_env().items():
        monkeypatch.setenv(name, value)
    assert ServerLimits.resolve() == limits
