"""Fixtures of the deployment tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    # We may be root: PostgreSQL then runs as `postgres`, which must be able to reach the data dir.
    for p in (tmp_path, home):
        p.chmod(0o755)
    yield home
    # a failed test must not leave a cluster running
    from traceability.exporter.devtools.embedded_pg import EmbeddedPostgres, cluster_dir_for

    cluster = cluster_dir_for(home / ".local" / "share" / "traceability")
    if (cluster / "postmaster.pid").exists():
        EmbeddedPostgres(cluster_dir=cluster, port=1).stop("immediate")
    if not cluster.is_relative_to(tmp_path):  # as root the cluster lives under /var/lib: remove it too
        shutil.rmtree(cluster.parent, ignore_errors=True)
