"""`traceability api` as a real server process on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from traceability.exporter.devtools.embedded_pg import free_port
from traceability.lineage_api.app import API_PREFIX


@contextmanager
def running_api(db_dsn: str, **env: str) -> Iterator[str]:
    """Start the API on ``db_dsn`` (extra environment in ``env``), wait until healthy, yield its URL."""
    port = free_port()
    full_env = {**os.environ, "TRACEABILITY_DB_URL": db_dsn, "TRACEABILITY_DERIVER_INTERVAL_S": "0.2", **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "traceability.cli.main", "api", "--host", "127.0.0.1", "--port", str(port)],
        env=full_env,
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
