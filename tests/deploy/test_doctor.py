"""`traceability doctor` names what is wrong and how to fix it, and exits non-zero then.

Its all-good path runs in test_up.py, against a real `traceability up`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.support.cli import doctor
from tests.support.postgres import PgServer
from traceability.exporter.devtools.embedded_pg import free_port


def test_nothing_running_nothing_configured(tmp_path: Path) -> None:
    code, findings = doctor(tmp_path)
    assert code == 1
    assert findings["database"]["level"] == "FAIL"
    assert "traceability up" in findings["database"]["fix"]
    assert findings["collector"]["level"] == "FAIL" and "nothing answers" in findings["collector"]["message"]
    assert findings["lineage API"]["level"] == "FAIL"
    assert findings["hooks"]["level"] == "FAIL" and "hooks install" in findings["hooks"]["fix"]
    assert findings["spool"]["level"] == "ok"  # created on demand, writable


def test_fixes_name_a_command_that_runs_as_printed(tmp_path: Path) -> None:
    """After `make up` the venv's bin is not on PATH: a bare `traceability` would not be found."""
    venv_bin = Path(sys.executable).parent
    path = [p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != venv_bin]
    _, findings = doctor(tmp_path, env={"PATH": os.pathsep.join(path)})
    match = re.search(r"`(.+) up`", findings["database"]["fix"])
    assert match, findings["database"]["fix"]
    assert shlex.split(match.group(1)) == [str(venv_bin / "traceability")]
    runs = subprocess.run(
        [*shlex.split(match.group(1)), "--help"], capture_output=True, timeout=60, check=False
    )
    assert runs.returncode == 0 and b"usage: traceability" in runs.stdout
    assert f"`{venv_bin / 'traceability'} hooks install --user`" in findings["hooks"]["fix"]
    # with the venv's bin on PATH the short name runs this same installation
    _, findings = doctor(tmp_path, env={"PATH": os.pathsep.join([str(venv_bin), *path])})
    assert "run `traceability up`" in findings["database"]["fix"]


def test_database_not_migrated_and_spool_backlog(tmp_path: Path, pg_server: PgServer) -> None:
    name = f"doctor_{os.getpid()}"

    async def create() -> None:
        conn = await pg_server.admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    try:
        _check_not_migrated(tmp_path, pg_server.dsn_for(name))
    finally:
        asyncio.run(_drop(pg_server, name))


async def _drop(pg_server: PgServer, name: str) -> None:
    conn = await pg_server.admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _check_not_migrated(tmp_path: Path, dsn: str) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    for i in range(3):
        (spool / f"{i}.json").write_text("{}\n")
    (spool / ".4.tmp").write_text("")  # a writer's temporary: not waiting yet
    code, findings = doctor(tmp_path, "--db-url", dsn, "--spool-dir", str(spool))
    assert code == 1
    assert findings["database"]["level"] == "FAIL"
    assert "has no schema" in findings["database"]["message"]
    assert findings["database"]["fix"].endswith("traceability db upgrade`")
    assert "3 file(s) waiting" in findings["spool"]["message"]
    assert "3 spool file(s) wait for it" in findings["collector"]["fix"]


def test_migrated_database_passes(tmp_path: Path, db_dsn: str) -> None:
    code, findings = doctor(tmp_path, "--db-url", db_dsn)
    assert findings["database"]["level"] == "ok" and "migrated to" in findings["database"]["message"]
    assert code == 1  # the services are still down


def test_unreachable_database_and_unwritable_spool(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    code, findings = doctor(
        tmp_path,
        "--db-url",
        f"postgresql://nobody@127.0.0.1:{free_port()}/x",
        "--spool-dir",
        str(blocker / "spool"),
    )
    assert code == 1
    assert "cannot connect" in findings["database"]["message"]
    assert findings["spool"]["level"] == "FAIL" and "cannot write" in findings["spool"]["message"]


def test_hooks_found_in_project_settings(tmp_path: Path) -> None:
    settings = tmp_path / "proj" / ".claude" / "settings.local.json"
    settings.parent.mkdir(parents=True)
    command = {"type": "command", "command": "/opt/venv/bin/traceability hook", "timeout": 10}
    settings.write_text(
        json.dumps(
            {
                "hooks": {
                    "PreToolUse": [{"matcher": "*", "hooks": [command]}],
                    "Stop": [{"hooks": [command]}],
                    "Notification": [{"hooks": [{"type": "command", "command": "notify-send hi"}]}],
                }
            }
        )
    )
    _, findings = doctor(tmp_path, "--project-dir", str(tmp_path / "proj"))
    assert findings["hooks"]["level"] == "ok"
    assert f"{settings} (2 events: PreToolUse, Stop)" in findings["hooks"]["message"]
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text("{not json")
    _, findings = doctor(tmp_path, "--project-dir", str(tmp_path / "proj"))
    assert findings["hooks"]["level"] == "FAIL" and "not valid JSON" in findings["hooks"]["message"]
