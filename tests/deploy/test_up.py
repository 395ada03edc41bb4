"""`traceability up` on a machine with no configuration: a temporary HOME, free ports, a session
sent through the real hook, read back through the lineage API; SIGTERM leaves no process behind,
and a second `up` finds the data and the PostgreSQL port it had."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.support.postgres import FIXTURES_DIR
from tests.support.up_stack import clean_env, start_up, stop_and_check_nothing_left, stop_leftovers
from traceability.cli import local_stack


@pytest.fixture(autouse=True)
def _stop_leftover_ups() -> Iterator[None]:
    """A test that fails before stopping its `up` must not leave it (and its PostgreSQL) running."""
    yield
    stop_leftovers()


REPO = Path(__file__).resolve().parents[2]
SESSION = FIXTURES_DIR / "sequences" / "v2.1.270_s01_S01_startup_tools.jsonl"


def _installed_hook_command(home: Path) -> list[str]:
    """The command `traceability hooks install --user` wrote into ~/.claude/settings.json."""
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    commands = {h["command"] for groups in settings["hooks"].values() for g in groups for h in g["hooks"]}
    (command,) = commands
    return shlex.split(command)


def _send_session_through_hook(home: Path, env: dict[str, str]) -> str:
    """Pipe a real captured session, event by event, into the installed hook; return its prompt_id."""
    command = _installed_hook_command(home)
    prompt_ids = set()
    for line in SESSION.read_text().splitlines():
        event = json.loads(line)
        if event.get("prompt_id"):
            prompt_ids.add(event["prompt_id"])
        result = subprocess.run(
            command, input=line.encode(), env=env, capture_output=True, timeout=30, check=False
        )
        assert result.returncode == 0, result.stderr.decode()
    (prompt_id,) = prompt_ids
    return prompt_id


def _doctor_says_all_good(env: dict[str, str], home: Path) -> None:
    """`traceability hooks install --user`, then `traceability doctor` against the running `up`: all ok."""
    subprocess.run(
        [sys.executable, "-m", "traceability.cli.main", "hooks", "install", "--user"],
        env=env,
        cwd=home,
        check=True,
        capture_output=True,
        timeout=60,
    )
    result = subprocess.run(
        [sys.executable, "-m", "traceability.cli.main", "doctor", "--json", "--project-dir", str(home)],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    findings = {f["piece"]: f for f in json.loads(result.stdout)}
    assert set(findings) == {
        "up",
        "database",
        "spool",
        "collector",
        "lineage API",
        "hooks",
        "claude code telemetry",
    }
    # hooks were installed without --telemetry: doctor says so, with the command that turns it on
    telemetry = findings.pop("claude code telemetry")
    assert telemetry["level"] == "warn" and "--telemetry" in telemetry["fix"], telemetry
    bad = {k: f["message"] for k, f in findings.items() if f["level"] != "ok"}
    assert result.returncode == 0 and not bad, bad
    assert str(home / ".claude" / "settings.json") in findings["hooks"]["message"]


def _wait_until(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def _get_json(url: str, *, until: Any = None, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        response = httpx.get(url, timeout=5)
        if response.status_code == 200:
            last = response.json()
            if until is None or until(last):
                return last
        time.sleep(0.3)
    pytest.fail(f"{url} did not give the expected answer in {timeout} s; last: {last}")


def test_up_from_nothing_then_sigterm_leaves_nothing(home: Path) -> None:
    from traceability.exporter.devtools.embedded_pg import cluster_dir_for

    data_dir = home / ".local" / "share" / "traceability"
    running = start_up(home, "first")
    out = running.text()
    spool_dir = home / ".local" / "state" / "traceability" / "spool"
    assert f"spool         {spool_dir}" in out
    assert running.collector in out and running.api in out
    assert "traceability hooks install --user" in out
    state = local_stack.read_state(data_dir)
    assert state is not None and state.pid == running.proc.pid and state.embedded_postgres
    pg_port = local_stack.remembered_pg_port(data_dir)
    assert pg_port and f"127.0.0.1:{pg_port}" in out

    _doctor_says_all_good(running.env, home)
    prompt_id = _send_session_through_hook(home, running.env)
    stats = _get_json(
        f"{running.api}/api/pattern-traceability/stats", until=lambda s: _count(s, "traces") >= 1
    )
    assert _count(stats, "hook_executions") >= 1
    correlation_id = _correlation_id_for(state.db_url, prompt_id)
    # every tool use of the captured session is in the trace read back through the API (once drained)
    tool_use_ids = set(re.findall(r'"tool_use_id":"(toolu_\w+)"', SESSION.read_text()))
    assert len(tool_use_ids) >= 8
    trace = _get_json(
        f"{running.api}/api/pattern-traceability/traces/{correlation_id}?detail=full",
        until=lambda t: {h.get("tool_use_id") for h in t["data"]["hook_executions"]} >= tool_use_ids,
    )
    _wait_until(lambda: not list(spool_dir.glob("*.json")), "the spool to be drained")
    trace = _get_json(f"{running.api}/api/pattern-traceability/traces/{correlation_id}?detail=full")
    spans_before = sorted(h["span_id"] for h in trace["data"]["hook_executions"])
    assert trace["data"]["jaeger_trace_id"] == uuid.UUID(correlation_id).hex
    assert trace["data"]["jaeger_url"] is None  # `up` runs no Jaeger, so it links to none
    assert trace["data"]["ui_url"] == "/turns/" + uuid.UUID(correlation_id).hex

    cluster_dir = cluster_dir_for(data_dir)
    stop_and_check_nothing_left(running, cluster_dir)
    assert local_stack.read_state(data_dir) is None

    # data kept, port kept
    again = start_up(home, "second")
    assert local_stack.remembered_pg_port(data_dir) == pg_port
    trace_again = _get_json(f"{again.api}/api/pattern-traceability/traces/{correlation_id}?detail=full")
    assert sorted(h["span_id"] for h in trace_again["data"]["hook_executions"]) == spans_before
    stop_and_check_nothing_left(again, cluster_dir)


def test_a_second_signal_during_shutdown_still_stops_everything(home: Path) -> None:
    from traceability.exporter.devtools.embedded_pg import cluster_dir_for

    running = start_up(home, "double")
    stop_and_check_nothing_left(
        running,
        cluster_dir_for(home / ".local" / "share" / "traceability"),
        signals=(signal.SIGTERM, signal.SIGINT),
    )


def test_sigint_to_make_alone_stops_make_up(home: Path) -> None:
    """A supervisor that started `make up` sends SIGINT to make's PID only (not to its group):
    GNU make passes no SIGINT on, so `up` notices make's handler and stops everything."""
    from traceability.exporter.devtools.embedded_pg import cluster_dir_for

    running = start_up(home, "make", via_make=True)
    venv_bin = Path(sys.executable).parent
    # the hints run as they are printed: the venv's bin is not on PATH here
    assert f"{venv_bin / 'traceability'} doctor" in running.text()
    make = psutil.Process(running.proc.pid)
    assert make.name() == "make"
    try:
        stop_and_check_nothing_left(
            running,
            cluster_dir_for(home / ".local" / "share" / "traceability"),
            signals=(signal.SIGINT,),
            exit_code=-signal.SIGINT,  # make re-raises the SIGINT once `up` has stopped
        )
    finally:
        if running.proc.poll() is None:  # failed: stop `up` (make's child) the way that works
            for child in make.children():
                child.terminate()
            running.proc.wait(timeout=60)
    assert "SIGINT (to make) received: stopping" in running.text()


def test_second_up_on_the_same_data_dir_is_refused(home: Path) -> None:
    running = start_up(home, "first")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "traceability.cli.main", "up", "--api-port", "1", "--collector-port", "2"],
            env=running.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1
        assert f"(pid {running.proc.pid}) already runs" in result.stderr
    finally:
        running.proc.send_signal(signal.SIGINT)  # Ctrl-C stops it as cleanly as SIGTERM
        assert running.proc.wait(timeout=60) == 0, running.text()


def _count(stats: dict[str, Any], name: str) -> int:
    return int(stats["data"][f"total_{name}"])


def _correlation_id_for(db_url: str, prompt_id: str) -> str:
    import asyncio

    import asyncpg

    async def fetch() -> str:
        conn = await asyncpg.connect(db_url)
        try:
            value = await conn.fetchval(
                "SELECT correlation_id FROM execution_traces WHERE prompt_id = $1", prompt_id
            )
        finally:
            await conn.close()
        assert value is not None, f"no trace for prompt {prompt_id}"
        return str(value)

    return asyncio.run(fetch())


def test_public_host_without_a_token_is_refused_before_anything_starts(home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "traceability.cli.main", "up", "--host", "0.0.0.0"],
        env=clean_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "set TRACEABILITY_API_TOKEN" in result.stderr
    assert not (home / ".local" / "share" / "traceability" / "pg").exists()  # no cluster was created
