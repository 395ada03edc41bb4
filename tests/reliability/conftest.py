"""A private PostgreSQL cluster per test, for tests that kill and restart the server."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from traceability.exporter.devtools.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError
from traceability.exporter.storage import database


@pytest.fixture
def own_pg() -> Iterator[EmbeddedPostgres]:
    """A migrated cluster of its own (fsync off; commits still reach the OS, so a kill loses nothing)."""
    root = Path(tempfile.mkdtemp(prefix="pg-fault-"))
    root.chmod(0o755)  # the server may run as another user (we may be root)
    try:
        pg = EmbeddedPostgres(cluster_dir=root / "pg", fast_unsafe=True)
        pg.start()
    except EmbeddedPostgresError as exc:
        pytest.fail(f"no PostgreSQL binaries for a private cluster: {exc}", pytrace=False)
    try:
        database.upgrade(pg.dsn)
        yield pg
    finally:
        pg.destroy()
