"""One rule for where the database is, in every command: `--db-url`, else TRACEABILITY_DB_URL, else
the database of the running `traceability up` (its up.json in the data dir, written by
``local_stack.write_state`` as `up` does; the test process stands in for `up`'s live PID)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from traceability.cli import local_stack
from traceability.exporter.devtools.embedded_pg import free_port
from traceability.exporter.storage import database
from traceability.instrumentation.env import DATA_DIR_ENV

CLI = [sys.executable, "-m", "traceability.cli.main"]
NO_DATABASE = "no database: pass --db-url, set TRACEABILITY_DB_URL, or start everything with `"
# command -> (argv after `traceability`, a line its success prints)
ONE_SHOT: dict[str, tuple[list[str], Callable[[Path], str]]] = {
    "db current": (["db", "current"], lambda _: database.head_revision()),
    "derive": (["derive", "--quiet"], lambda _: "derived 0 tool uses"),
    "retention": (["retention", "--older-than", "30d", "--dry-run"], lambda _: "would delete 0 traces"),
    "dashboard render": (["dashboard", "render", "--out", "{tmp}/d.png"], lambda tmp: f"wrote {tmp}/d.png"),
}


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TRACEABILITY_", "XDG_", "INTELLIGENCE_"))
    }
    env["HOME"] = str(data_dir.parent)
    env[DATA_DIR_ENV] = str(data_dir)
    return {**env, **extra}


def _run(argv: list[str], env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    argv = [a.replace("{tmp}", str(tmp)) for a in argv]
    return subprocess.run([*CLI, *argv], env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def running_up(data_dir: Path, db_dsn: str) -> Iterator[str]:
    """up.json of a live `up` whose database is ``db_dsn``."""
    local_stack.write_state(
        data_dir,
        local_stack.StackState(
            pid=os.getpid(),
            db_url=db_dsn,
            embedded_postgres=True,
            collector_url="http://127.0.0.1:1",
            api_url="http://127.0.0.1:1",
            spool_dir=str(data_dir / "spool"),
            logs_dir=str(data_dir / "logs"),
        ),
    )
    yield db_dsn
    local_stack.clear_state(data_dir)


@pytest.mark.parametrize("name", list(ONE_SHOT))
def test_each_command_finds_the_running_ups_database(
    name: str, running_up: str, data_dir: Path, tmp_path: Path
) -> None:
    argv, success = ONE_SHOT[name]
    result = _run(argv, _env(data_dir), tmp_path)
    assert result.returncode == 0, result.stderr
    assert success(tmp_path) in result.stdout


@pytest.mark.parametrize("name", list(ONE_SHOT))
def test_each_command_says_the_same_without_a_database(name: str, data_dir: Path, tmp_path: Path) -> None:
    result = _run(ONE_SHOT[name][0], _env(data_dir), tmp_path)
    assert result.returncode == 2
    assert NO_DATABASE in result.stderr and " up`" in result.stderr


def test_doctor_finds_the_running_ups_database(running_up: str, data_dir: Path, tmp_path: Path) -> None:
    result = _run(["doctor", "--json", "--project-dir", str(tmp_path)], _env(data_dir), tmp_path)
    findings = {f["piece"]: f for f in json.loads(result.stdout)}
    assert findings["database"]["level"] == "ok", findings["database"]
    assert database.redact_dsn(running_up) in findings["database"]["message"]


def test_the_environment_wins_over_up_and_the_argument_over_both(
    running_up: str, data_dir: Path, tmp_path: Path
) -> None:
    nowhere = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    env = _env(data_dir, TRACEABILITY_DB_URL=nowhere)
    from_env = _run(["retention", "--older-than", "30d", "--dry-run"], env, tmp_path)
    assert from_env.returncode == 1 and f"cannot connect to {database.redact_dsn(nowhere)}" in from_env.stderr
    from_arg = _run(["retention", "--db-url", running_up, "--older-than", "30d", "--dry-run"], env, tmp_path)
    assert from_arg.returncode == 0 and "would delete 0 traces" in from_arg.stdout


def _serve_until(argv: list[str], env: dict[str, str], url: str, ready: Callable[[Any], bool]) -> Any:
    proc = subprocess.Popen([*CLI, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        last: Any = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                last = httpx.get(url, timeout=2).json()
                if ready(last):
                    return last
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        out = proc.stdout.read().decode() if proc.stdout and proc.poll() is not None else ""
        pytest.fail(f"{argv[0]} never reported its database up: last answer {last}; {out}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_api_and_collector_use_the_running_ups_database(running_up: str, data_dir: Path) -> None:
    env = _env(data_dir)
    port = free_port()
    _serve_until(
        ["api", "--port", str(port), "--no-deriver"],
        env,
        f"http://127.0.0.1:{port}{local_stack.API_HEALTH_PATH}",
        lambda body: body.get("status") == "healthy",
    )
    port = free_port()
    _serve_until(
        ["collector", "--port", str(port), "--spool-dir", str(data_dir / "spool")],
        env,
        f"http://127.0.0.1:{port}{local_stack.COLLECTOR_HEALTH_PATH}",
        lambda body: body.get("database") == "up",
    )
