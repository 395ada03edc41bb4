"""Fixtures for the lineage API: the app on a fresh migrated database, in process (ASGI) or as a server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from traceability.exporter.embedded_pg import free_port
from traceability.lineage_api.app import API_PREFIX, create_app
from traceability.lineage_api.settings import Settings


@pytest.fixture
def api_settings(db_dsn: str) -> Settings:
    return Settings.resolve(db_url=db_dsn, run_deriver=False, jaeger_ui_url="http://jaeger.test:16686")


@pytest.fixture
async def client(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in process (real routing, real PostgreSQL)."""
    app = create_app(api_settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost" + API_PREFIX
        ) as c,
    ):
        yield c


@pytest.fixture
def live_api(db_dsn: str) -> Iterator[str]:
    """`traceability api` running as a real server on a free port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "TRACEABILITY_DB_URL": db_dsn, "TRACEABILITY_DERIVER_INTERVAL_S": "0.2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "traceability.cli.main", "api", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + API_PREFIX + "/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout and proc.poll() is not None else ""
                pytest.fail(f"traceability api did not become healthy: {out}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
