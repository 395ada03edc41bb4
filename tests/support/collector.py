"""Run the real collector (`traceability collector`) as a subprocess on a free port."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from traceability.exporter.devtools.embedded_pg import free_port


@dataclass
class Collector:
    url: str
    spool_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def traces_url(self) -> str:
        return f"{self.url}/v1/traces"

    def health(self) -> dict[str, object]:
        return httpx.get(f"{self.url}/healthz", timeout=5).json()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until(
    predicate: object, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def start_collector(
    dsn: str,
    spool_dir: Path,
    log_path: Path,
    extra_env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> Collector:
    port = free_port()
    env = {**os.environ, "LOG_LEVEL": "INFO", **(extra_env or {})}
    env.pop("TRACEABILITY_DB_URL", None)
    log_file = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "traceability.cli.main", "collector", "--port", str(port),
         "--spool-dir", str(spool_dir), "--db-url", dsn,
         *(() if "--grpc-port" in extra_args else ("--grpc-port", "0")), *extra_args],
        stdout=log_file, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    collector = Collector(f"http://127.0.0.1:{port}", spool_dir, process, log_path)

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"collector exited early:\n{collector.log()}")
        try:
            return httpx.get(f"{collector.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, what="collector /healthz")
    return collector


def stop_collector(collector: Collector) -> None:
    if collector.process.poll() is None:
        collector.process.terminate()
        try:
            collector.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            collector.process.kill()
            collector.process.wait()


@contextlib.contextmanager
def running_collector(
    dsn: str, tmp_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Collector]:
    collector = start_collector(dsn, tmp_path / "spool", tmp_path / "collector.log", extra_env)
    try:
        yield collector
    finally:
        stop_collector(collector)
