"""The one PostgreSQL every database test uses (how it is found: tests/support/postgres.py).

The schema is migrated once into a template database, and each test gets its own clone of it
(CREATE DATABASE ... TEMPLATE is a file copy, ~50 ms). The lineage API fixtures (``api_settings``,
``client``, ``live_api``) come from tests/support/api_fixtures.py for every package.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.postgres import FIXTURES_DIR, PgServer, clone, drop, make_template, start_server
from traceability.exporter.storage import database

pytest_plugins = ["tests.support.api_fixtures"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.root_only``: skip, saying why, unless we are root (see tests/support/tmpfs.py)."""
    if item.get_closest_marker("root_only") is not None and os.geteuid() != 0:
        pytest.skip("needs root: it mounts a tmpfs to fill a disk for real (run as root to include it)")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    tmp_root = Path(tempfile.mkdtemp(prefix="traceability-pg-"))
    tmp_root.chmod(0o755)  # the server may run as another user (we may be root)
    server = start_server(tmp_root)
    try:
        asyncio.run(make_template(server))
        yield server
    finally:
        server.close()
        shutil.rmtree(tmp_root, ignore_errors=True)


@pytest.fixture
def db_dsn(pg_server: PgServer) -> Iterator[str]:
    """A fresh, migrated, empty database (its DSN), dropped after the test."""
    name = asyncio.run(clone(pg_server))
    yield pg_server.dsn_for(name)
    asyncio.run(drop(pg_server, name))


@pytest.fixture
async def db_pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await database.create_pool(db_dsn, min_size=1, max_size=10)
    yield pool
    await pool.close()


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES_DIR.is_dir():
        pytest.fail(f"hook payload fixtures not found at {FIXTURES_DIR}", pytrace=False)
    return FIXTURES_DIR
