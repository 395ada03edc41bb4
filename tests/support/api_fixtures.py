"""Fixtures for the lineage API: the app on a fresh migrated database, in process (ASGI) or as a
server. Registered for every test package by `pytest_plugins` in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.api_server import running_api
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
    with running_api(db_dsn) as base:
        yield base
