"""Fixtures for the web UI: a seeded session, the app in process, and a real server for the browser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.ui_seed import Seeded, seed_session
from traceability.lineage_api.app import create_app
from traceability.lineage_api.settings import Settings


@pytest.fixture
async def seeded(db_dsn: str, db_pool: asyncpg.Pool, tmp_path: Path) -> Seeded:
    return await seed_session(db_dsn, db_pool, tmp_path)


@pytest.fixture
async def ui(db_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process, addressed at its root where the UI lives."""
    app = create_app(Settings.resolve(db_url=db_dsn, run_deriver=False))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8053") as c,
    ):
        yield c
