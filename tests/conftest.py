"""The one PostgreSQL every database test uses.

Order of preference: ``TRACEABILITY_TEST_DSN``; a throwaway cluster from PostgreSQL binaries on
the machine (or the pgserver wheel); testcontainers where Docker works. The schema is migrated
once into a template database, and each test gets its own clone of it (CREATE DATABASE ...
TEMPLATE is a file copy, ~50 ms). With ``CI=true`` a missing database fails the run.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from traceability.exporter import database
from traceability.exporter.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError

TEMPLATE_DB = "traceability_template"
REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures" / "claude-code-hooks"


@dataclass
class PgServer:
    """A PostgreSQL server the tests may create databases on."""

    admin_dsn: str
    embedded: EmbeddedPostgres | None = None

    def dsn_for(self, dbname: str) -> str:
        return database.with_database(self.admin_dsn, dbname)

    def admin(self) -> asyncpg.Connection:
        return asyncpg.connect(database.asyncpg_dsn(self.admin_dsn))  # type: ignore[return-value]


def _no_database(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"no PostgreSQL for the tests (CI=true makes this a failure): {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL for the tests: {reason}")


def _start_server(tmp_root: Path) -> PgServer:
    dsn = os.environ.get("TRACEABILITY_TEST_DSN")
    if dsn:
        return PgServer(admin_dsn=dsn)
    try:
        pg = EmbeddedPostgres(cluster_dir=tmp_root / "cluster" / "pg", fast_unsafe=True)
        pg.start()
        return PgServer(admin_dsn=pg.dsn, embedded=pg)
    except EmbeddedPostgresError as exc:
        embedded_error = str(exc)
    try:  # Docker, where an engine runs
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver=None)
        container.start()
        return PgServer(admin_dsn=container.get_connection_url())
    except Exception as exc:
        _no_database(f"{embedded_error}; testcontainers: {exc}")
    raise AssertionError("unreachable")


async def _make_template(server: PgServer) -> None:
    conn = await server.admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    await asyncio.to_thread(database.upgrade, server.dsn_for(TEMPLATE_DB))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    tmp_root = Path(tempfile.mkdtemp(prefix="traceability-pg-"))
    tmp_root.chmod(0o755)  # the server may run as another user (we may be root)
    server = _start_server(tmp_root)
    asyncio.run(_make_template(server))
    yield server
    if server.embedded is not None:
        server.embedded.destroy()
    shutil.rmtree(tmp_root, ignore_errors=True)


_db_counter = itertools.count()


async def _clone(server: PgServer) -> str:
    name = f"t_{os.getpid()}_{next(_db_counter)}"
    conn = await server.admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    return name


async def _drop(server: PgServer, name: str) -> None:
    conn = await server.admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def db_dsn(pg_server: PgServer) -> Iterator[str]:
    """A fresh, migrated, empty database (its DSN), dropped after the test."""
    name = asyncio.run(_clone(pg_server))
    yield pg_server.dsn_for(name)
    asyncio.run(_drop(pg_server, name))


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
