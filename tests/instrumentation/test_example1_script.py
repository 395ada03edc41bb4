"""examples/example1_basic_trace.py run as a user would: a subprocess, spool or OTLP/HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.otlp_checks import EXAMPLE1, check_example1, read_spool
from tests.support.otlp_server import recording_otlp_server

_CLEARED = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "CORRELATION_ID",
    "TRACEPARENT",
)


def _run(env_extra: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED} | env_extra
    return subprocess.run(
        [sys.executable, str(EXAMPLE1)], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_example1_script_writes_the_spool(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    result = _run({"TRACEABILITY_SPOOL_DIR": str(spool)}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    check_example1(read_spool(spool))


def test_example1_script_sends_otlp_http(tmp_path: Path) -> None:
    with recording_otlp_server() as server:
        result = _run(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": server.url, "TRACEABILITY_SPOOL_DIR": str(tmp_path / "s")},
            tmp_path,
        )
        received = list(server.received)
    assert result.returncode == 0, result.stderr
    check_example1(r.request for r in received)
    assert not (tmp_path / "s").exists()
