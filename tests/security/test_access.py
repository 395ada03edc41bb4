"""Access: loopback by default, bearer token for writes (and reads when configured), a tokenless
public bind refused, CORS closed unless origins are configured, request bodies capped, database
credentials never in logs or answers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.support.api_process import listening_addresses, running_api
from tests.support.collector import running_collector, wait_until
from tests.support.ingest_payloads import otlp_json_body
from traceability.exporter.devtools.embedded_pg import free_port
from traceability.lineage_api.settings import Settings
from traceability.serving.auth import AccessPolicy

TOKEN = "tok-3f9a1c7e5b2d4068"
TRACK = {"event_type": "pattern_created", "pattern_id": "access-test", "pattern_name": "f"}
JSON = {"Content-Type": "application/json"}


def _with_password(dsn: str, password: str) -> str:
    parts = urlsplit(dsn)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def test_both_services_listen_on_loopback_only_by_default(db_dsn: str, tmp_path: Path) -> None:
    with running_collector(db_dsn, tmp_path) as collector, running_api(db_dsn, tmp_path / "api.log") as api:
        assert listening_addresses(collector.process.pid) == {"127.0.0.1"}
        assert listening_addresses(api.process.pid) == {"127.0.0.1"}
        # no token configured: loopback clients write without one
        assert httpx.post(collector.traces_url, content=otlp_json_body(), headers=JSON).status_code == 200
        assert httpx.post(api.api + "/lineage/track", json=TRACK).status_code == 200


@pytest.mark.parametrize("command", ["api", "collector"])
def test_public_bind_without_a_token_is_refused_with_a_message(db_dsn: str, command: str) -> None:
    env = {k: v for k, v in __import__("os").environ.items() if k != "TRACEABILITY_API_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "traceability.cli.main", command, "--host", "0.0.0.0",
         "--port", str(free_port()), "--db-url", db_dsn],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a token" in result.stderr
    assert "TRACEABILITY_API_TOKEN" in result.stderr


def test_token_from_the_environment_guards_writes_of_both_services(db_dsn: str, tmp_path: Path) -> None:
    env = {"TRACEABILITY_API_TOKEN": TOKEN}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with (
        running_collector(db_dsn, tmp_path, extra_env=env) as collector,
        running_api(db_dsn, tmp_path / "api.log", extra_env=env) as api,
    ):
        body = otlp_json_body()
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            denied = httpx.post(collector.traces_url, content=body, headers={**JSON, **headers})
            assert denied.status_code == 401
            assert denied.json()["error"] == "missing or invalid bearer token"
            assert denied.headers["www-authenticate"].startswith("Bearer")
            refused = httpx.post(api.api + "/lineage/track", json=TRACK, headers=headers)
            assert refused.status_code == 401
        assert httpx.post(collector.traces_url, content=body, headers={**JSON, **auth}).status_code == 200
        assert httpx.post(api.api + "/lineage/track", json=TRACK, headers=auth).status_code == 200
        # reads stay open unless TRACEABILITY_AUTH_READS is set
        assert httpx.get(api.api + "/lineage/access-test").status_code == 200
        assert httpx.get(collector.url + "/healthz").status_code == 200
        assert TOKEN not in collector.log() + api.log()


def test_public_bind_with_a_token_serves_and_requires_it(db_dsn: str, tmp_path: Path) -> None:
    env = {"TRACEABILITY_API_TOKEN": TOKEN}
    with running_api(db_dsn, tmp_path / "api.log", extra_env=env, host="0.0.0.0") as api:
        assert listening_addresses(api.process.pid) == {"0.0.0.0"}
        assert httpx.post(api.api + "/lineage/track", json=TRACK).status_code == 401
        ok = httpx.post(api.api + "/lineage/track", json=TRACK, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200


async def test_reads_need_the_token_when_configured_but_health_stays_open(make_client: object) -> None:
    client = await make_client(access=AccessPolicy(token=TOKEN, protect_reads=True))  # type: ignore[operator]
    assert (await client.get("/lineage/access-test")).status_code == 401
    assert (await client.get("/analytics/patterns")).status_code == 401
    health = await client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "healthy"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert (await client.post("/lineage/track", json=TRACK, headers=auth)).status_code == 200
    assert (await client.get("/lineage/access-test", headers=auth)).status_code == 200


async def test_cors_is_closed_by_default(make_client: object) -> None:
    client = await make_client()  # type: ignore[operator]
    origin = {"Origin": "https://evil.example"}
    preflight = await client.options(
        "/lineage/track", headers={**origin, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code >= 400
    read = await client.get("/health", headers=origin)
    assert read.status_code == 200
    assert "access-control-allow-origin" not in read.headers


async def test_cors_opens_only_for_configured_origins(make_client: object) -> None:
    client = await make_client(cors_origins=("https://ui.example",))  # type: ignore[operator]
    allowed = await client.options(
        "/lineage/track",
        headers={"Origin": "https://ui.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"},
    )  # fmt: skip
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://ui.example"
    other = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_cors_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, db_dsn: str) -> None:
    monkeypatch.setenv("TRACEABILITY_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings.resolve(db_url=db_dsn).cors_origins == ("https://a.example", "https://b.example")
    monkeypatch.delenv("TRACEABILITY_CORS_ORIGINS")
    assert Settings.resolve(db_url=db_dsn).cors_origins == ()


async def test_api_body_over_the_limit_is_413_before_it_is_read(make_client: object) -> None:
    client = await make_client(max_body_bytes=1024)  # type: ignore[operator]
    big = {**TRACK, "pattern_data": {"code": "x" * 4096}}
    declared = await client.post("/lineage/track", json=big)
    assert declared.status_code == 413
    assert "over the 1024 byte limit" in declared.json()["error"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while streaming
        yield json.dumps(TRACK)[:-1].encode() + b', "pattern_data": {"code": "'
        for _ in range(64):
            yield b"y" * 1024
        yield b'"}}'

    streamed = await client.post("/lineage/track", content=chunks(), headers=JSON)
    assert streamed.status_code == 413
    assert "over the 1024 byte limit" in streamed.json()["error"]
    assert (await client.post("/lineage/track", json=TRACK)).status_code == 200


def test_database_password_never_reaches_logs_or_answers(db_dsn: str, tmp_path: Path) -> None:
    """Both services started with a DSN holding a password; the database then goes away, so every
    error path (connect failures, 503 answers, disk queue warnings) runs and is logged."""
    password = "Pw-d0-not-log-7c41e9"
    dsn = _with_password(db_dsn, password)  # the test cluster trusts local users: any password works
    dead_dsn = _with_password(db_dsn.replace(str(urlsplit(db_dsn).port), str(free_port())), password)
    env = {"LOG_LEVEL": "DEBUG"}
    answers = []
    (tmp_path / "dead").mkdir()
    with (
        running_collector(dsn, tmp_path, extra_env=env) as collector,
        running_api(dsn, tmp_path / "api.log", extra_env=env) as api,
        running_collector(dead_dsn, tmp_path / "dead", extra_env=env) as dead_collector,
        running_api(dead_dsn, tmp_path / "dead-api.log", extra_env=env) as dead_api,
    ):
        answers.append(httpx.post(collector.traces_url, content=otlp_json_body(), headers=JSON).text)
        answers.append(httpx.post(api.api + "/lineage/track", json=TRACK).text)
        answers.append(httpx.post(dead_collector.traces_url, content=otlp_json_body(), headers=JSON).text)
        for path in ("/health", "/lineage/access-test"):
            down = httpx.get(dead_api.api + path, timeout=30)
            assert down.status_code == 503
            answers.append(down.text)
        answers.append(json.dumps(dead_collector.health()))
        wait_until(
            lambda: "database" in dead_collector.log().lower(), what="the collector logging the outage"
        )
        logs = collector.log() + api.log() + dead_collector.log() + dead_api.log()
    assert "***" in " ".join(answers)  # the URL is shown, redacted
    assert password not in logs
    assert password not in " ".join(answers)
