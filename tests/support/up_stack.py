"""`traceability up` as a real subprocess in a temporary HOME on free ports, and the check that
stopping it leaves no process behind (shared by test_up and test_demo)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from traceability.exporter.devtools.embedded_pg import free_port

START_TIMEOUT_S = 120


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    output: Path
    env: dict[str, str]
    api: str
    collector: str

    def text(self) -> str:
        return self.output.read_text(errors="replace")


def clean_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRACEABILITY_", "XDG_", "INTELLIGENCE_", "OTEL_")) and k != "CI"
    }
    env["HOME"] = str(home)
    return env


STARTED: list[subprocess.Popen[bytes]] = []  # every `up` started, for the cleanup fixture


def stop_leftovers() -> None:
    """Stop every `up` a test started and did not stop (a test that failed midway)."""
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_up(home: Path, tag: str, via_make: bool = False) -> Running:
    """``traceability up`` on free ports, or ``make up`` as the README says (``via_make``)."""
    api_port, collector_port = free_port(), free_port()
    env = clean_env(home)
    output = home / f"up-{tag}.out"
    if via_make:
        # `make up` on this venv (its install step marked done: -o)
        venv = Path(sys.executable).parent.parent
        repo = Path(__file__).resolve().parents[2]
        argv = ["make", "-C", str(repo), f"VENV={venv}", "-o", f"{venv}/.installed-runtime", "up"]
        env["TRACEABILITY_COLLECTOR_PORT"], env["INTELLIGENCE_SERVICE_PORT"] = (
            str(collector_port),
            str(api_port),
        )
        # the venv's bin not on PATH, as after a fresh `make up`
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if Path(p) != venv / "bin")
    else:
        argv = [sys.executable, "-m", "traceability.cli.main", "up"]
        argv += ["--api-port", str(api_port), "--collector-port", str(collector_port)]
    with output.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=home)
    STARTED.append(proc)
    running = Running(proc, output, env, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{collector_port}")
    deadline = time.monotonic() + START_TIMEOUT_S
    while "traceability is up" not in running.text():
        if proc.poll() is not None:
            pytest.fail(f"`traceability up` exited with {proc.returncode}:\n{running.text()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"`traceability up` did not come up in {START_TIMEOUT_S} s:\n{running.text()}")
        time.sleep(0.2)
    return running


def stop_and_check_nothing_left(
    running: Running,
    cluster_dir: Path,
    signals: tuple[signal.Signals, ...] = (signal.SIGTERM,),
    exit_code: int = 0,
) -> None:
    up = psutil.Process(running.proc.pid)
    tree = up.children(recursive=True)
    postmaster = int((cluster_dir / "postmaster.pid").read_text().split()[0])
    watched = [*tree, psutil.Process(postmaster)]
    assert len(tree) >= 2, f"expected the collector and the API under `up`, found {tree}"
    for sig in signals:  # more than one: an impatient user, or `make` and a supervisor both signalling
        running.proc.send_signal(sig)
    assert running.proc.wait(timeout=60) == exit_code, running.text()
    _gone, alive = psutil.wait_procs(watched, timeout=30)
    alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"left behind: {[(p.pid, p.cmdline()) for p in alive]}"
    leftovers = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["status"] != psutil.STATUS_ZOMBIE and (
            str(cluster_dir) in cmdline or str(running.output.parent) in cmdline
        ):
            leftovers.append((proc.info["pid"], cmdline))
    assert not leftovers, f"processes of this `up` still run: {leftovers}"
    assert not (cluster_dir / "postmaster.pid").exists()
    assert "stopping PostgreSQL (data kept)" in running.text()
