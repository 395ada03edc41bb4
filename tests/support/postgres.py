"""The PostgreSQL server the tests use, and the per-test databases cloned from a migrated template.

Order of preference: ``TRACEABILITY_TEST_DSN``; a throwaway cluster from PostgreSQL binaries on
the machine (or the pgserver wheel); testcontainers where Docker works (stopped at session end).
With ``CI=true`` a missing database fails the run.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from traceability.exporter.devtools.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError
from traceability.exporter.storage import database

TEMPLATE_DB = "traceability_template"
FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "claude-code-hooks"


@dataclass
class PgServer:
    """A PostgreSQL server the tests may create databases on."""

    admin_dsn: str
    embedded: EmbeddedPostgres | None = None
    container: Any = None  # a testcontainers PostgresContainer, where Docker was used

    def close(self) -> None:
        """Stop what this run started (nothing for ``TRACEABILITY_TEST_DSN``)."""
        if self.embedded is not None:
            self.embedded.destroy()
        if self.container is not None:
            self.container.stop()

    def dsn_for(self, dbname: str) -> str:
        return database.with_database(self.admin_dsn, dbname)

    def admin(self) -> asyncpg.Connection:
        return asyncpg.connect(database.asyncpg_dsn(self.admin_dsn))


def _no_database(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"no PostgreSQL for the tests (CI=true makes this a failure): {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL for the tests: {reason}")


def start_server(tmp_root: Path) -> PgServer:
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
        return PgServer(admin_dsn=container.get_connection_url(), container=container)
    except Exception as exc:
        _no_database(f"{embedded_error}; testcontainers: {exc}")
    raise AssertionError("unreachable")


async def make_template(server: PgServer) -> None:
    conn = await server.admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    await asyncio.to_thread(database.upgrade, server.dsn_for(TEMPLATE_DB))


_db_counter = itertools.count()


async def clone(server: PgServer) -> str:
    name = f"t_{os.getpid()}_{next(_db_counter)}"
    conn = await server.admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    return name


async def drop(server: PgServer, name: str) -> None:
    conn = await server.admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
