"""Fixtures for the security tests: the real lineage API app in process, built from Settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from traceability.lineage_api.app import API_PREFIX, create_app
from traceability.lineage_api.settings import Settings


@pytest.fixture
async def make_client(db_dsn: str) -> AsyncIterator[object]:
    """Builds the real app in process from Settings and yields clients for it."""
    stack: list[tuple[Any, httpx.AsyncClient]] = []

    async def make(**overrides: Any) -> httpx.AsyncClient:
        settings = Settings(db_url=db_dsn, run_deriver=False, **overrides)
        app = create_app(settings)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost" + API_PREFIX
        )
        stack.append((lifespan, client))
        return client

    yield make
    for lifespan, client in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)
