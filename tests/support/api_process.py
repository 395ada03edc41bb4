"""`traceability api` as a real subprocess on a free port, with its log kept and no health
requirement (the database may be down on purpose); the collector's harness is tests/support/collector.py,
the plain healthy API is tests/support/api_server.py."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from tests.support.collector import wait_until
from traceability.exporter.devtools.embedded_pg import free_port
from traceability.lineage_api.app import API_PREFIX


@dataclass
class ApiServer:
    base: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def api(self) -> str:
        return self.base + API_PREFIX

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_api(
    dsn: str, log_path: Path, extra_env: dict[str, str] | None = None, host: str | None = None
) -> ApiServer:
    port = free_port()
    env = {**os.environ, "TRACEABILITY_DB_URL": dsn, "TRACEABILITY_DERIVER": "0", "LOG_LEVEL": "INFO"}
    env.update(extra_env or {})
    argv = [sys.executable, "-m", "traceability.cli.main", "api", "--port", str(port)]
    if host:
        argv += ["--host", host]
    log_file = log_path.open("ab")
    process = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    server = ApiServer(f"http://127.0.0.1:{port}", process, log_path)

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"traceability api exited early:\n{server.log()}")
        try:
            httpx.get(server.api + "/health", timeout=1)
            return True  # any answer: it is serving (the database may be down on purpose)
        except httpx.HTTPError:
            return False

    wait_until(up, what="traceability api answering")
    return server


def stop_api(server: ApiServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextlib.contextmanager
def running_api(
    dsn: str, log_path: Path, extra_env: dict[str, str] | None = None, host: str | None = None
) -> Iterator[ApiServer]:
    server = start_api(dsn, log_path, extra_env, host)
    try:
        yield server
    finally:
        stop_api(server)


def listening_addresses(pid: int) -> set[str]:
    """The IP addresses process ``pid`` listens on (TCP)."""
    return {
        c.laddr.ip for c in psutil.Process(pid).net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN
    }
