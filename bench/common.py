"""What several benchmarks share: a progress bar, and where their database comes from."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from traceability.exporter.devtools.embedded_pg import EmbeddedPostgres
from traceability.exporter.storage import database


def progress(label: str, done: int, total: int) -> None:
    """A one-line progress bar on stderr, finished with a newline at ``total``."""
    filled = 30 * done // max(total, 1)
    sys.stderr.write(f"\r  {label:<34} [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


async def _admin(admin_dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(database.asyncpg_dsn(admin_dsn))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def bench_database(label: str) -> Iterator[tuple[str, str]]:
    """An empty database for one run, as (dsn, where it is), removed afterwards.

    A scratch database on ``TRACEABILITY_DB_URL`` (used as an admin connection) when it is set,
    else a private embedded cluster with default durability.
    """
    admin = database.resolve_dsn()
    if admin:
        name = f"bench_{label}_{os.getpid()}"
        asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
        try:
            yield database.with_database(admin, name), "a scratch database on TRACEABILITY_DB_URL"
        finally:
            asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    root = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
    root.chmod(0o755)  # the server may run as another user (we may be root)
    pg = EmbeddedPostgres(cluster_dir=root / "pg")
    pg.start()
    try:
        yield pg.dsn, "an embedded PostgreSQL cluster"
    finally:
        pg.destroy()
