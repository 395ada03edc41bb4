"""Issue 11 item 2: the drainer reads only regular files inside the spool, and never blocks.

Symlinks (to a FIFO, to /dev/zero and /dev/urandom, to a valid spool file outside the spool), a
FIFO, a directory named ``x.json``, a hard link to a file outside the spool, and a file the
collector may not read are each moved under ``rejected/`` with a reason; the valid files around
them are drained, the receiver keeps answering, no file descriptor stays open on the spool.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.collector import running_collector, wait_until
from tests.support.db import fetch
from tests.support.ingest_payloads import body, turn_payload
from traceability.instrumentation.spool import write_spool_file

SPECIAL = {
    "0002-fifo-link.json": "a symbolic link",
    "0003-zero.json": "a symbolic link",
    "0004-urandom.json": "a symbolic link",
    "0005-outside.json": "a symbolic link",
    "0006-fifo.json": "a FIFO",
    "0007-dir.json": "a directory",
    "0008-hardlink.json": "hard links",
}


def _hooks(dsn: str, trace: int) -> int:
    return int(
        fetch(dsn, "SELECT count(*) AS n FROM hook_executions WHERE trace_id = $1", uuid.UUID(int=trace))[0][
            "n"
        ]
    )


def _open_in(pid: int, directory: Path) -> list[str]:
    fd_dir = Path(f"/proc/{pid}/fd")
    targets = []
    for fd in fd_dir.iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:
            continue
    return [t for t in targets if t.startswith(str(directory) + "/") and "/rejected/" not in t]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_special_entries_are_quarantined_and_good_files_drained(db_dsn: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    outside = tmp_path / "outside"
    outside.mkdir()
    write_spool_file(str(outside), "secret", [body(turn_payload(0xE900, hooks=2))])  # must not be ingested
    write_spool_file(str(outside), "linked", [body(turn_payload(0xE800, hooks=2))])
    write_spool_file(str(spool), "0001-good", [body(turn_payload(0xE100, hooks=2))])
    os.mkfifo(tmp_path / "fifo")
    (spool / "0002-fifo-link.json").symlink_to(tmp_path / "fifo")
    (spool / "0003-zero.json").symlink_to("/dev/zero")
    (spool / "0004-urandom.json").symlink_to("/dev/urandom")
    (spool / "0005-outside.json").symlink_to(outside / "secret.json")
    os.mkfifo(spool / "0006-fifo.json")
    (spool / "0007-dir.json").mkdir()
    os.link(outside / "linked.json", spool / "0008-hardlink.json")
    write_spool_file(str(spool), "0009-good", [body(turn_payload(0xE200, hooks=2))])
    with running_collector(db_dsn, tmp_path) as collector:
        wait_until(lambda: _hooks(db_dsn, 0xE200) == 2, what="the good files drained")
        # the receiver answers while the spool holds all this
        response = httpx.post(
            collector.traces_url,
            content=body(turn_payload(0xE300, hooks=2)),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        wait_until(lambda: not list(spool.glob("*.json")), what="every entry drained or set aside")
        assert _hooks(db_dsn, 0xE100) == 2
        assert _hooks(db_dsn, 0xE900) == 0 and _hooks(db_dsn, 0xE800) == 0  # nothing from outside
        for name, why in SPECIAL.items():
            assert os.path.lexists(spool / "rejected" / name), name
            assert why in (spool / "rejected" / f"{name}.reason").read_text(), name
        assert (outside / "secret.json").exists()  # a link is moved, never its target
        assert _open_in(collector.process.pid, spool) == []
        assert _rss_kib(collector.process.pid) < 512 * 1024
        health = httpx.get(collector.url + "/healthz").json()
        assert health["status"] == "ok" and health["database"] == "up", health
        assert health["spool_pending_files"] == 0
        assert health["spool_set_aside"] == len(SPECIAL)  # /healthz says what was set aside


UNREADABLE_DRAIN = """
import asyncio, json, os, sys
from traceability.collector.drainer import SpoolDrainer
from traceability.exporter.storage.database import create_pool
from traceability.exporter.storage.writer import SpanWriter

async def main(dsn, spool, uid, gid):
    pool = await create_pool(dsn, min_size=1, max_size=2, json_codecs=False)
    await asyncio.to_thread(print, end="")  # load what asyncio imports lazily while we still can
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)  # from here on the drainer may not read root's 0600 file (nor our Python)
    drainer = SpoolDrainer(spool, SpanWriter(pool))
    try:
        for _ in range(3):
            await drainer.drain_once()
    finally:
        await pool.close()
    print(json.dumps(vars(drainer.stats)))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own a file the drainer's user cannot read")
def test_a_file_the_collector_cannot_read_is_quarantined_not_blocking(db_dsn: str) -> None:
    nobody = pwd.getpwnam("nobody")
    spool = Path(tempfile.mkdtemp(prefix="spool-unreadable-"))
    try:
        os.chown(spool, nobody.pw_uid, nobody.pw_gid)
        write_spool_file(str(spool), "0001-foreign", [body(turn_payload(0xE400, hooks=2))])  # root's, 0600
        write_spool_file(str(spool), "0002-good", [body(turn_payload(0xE500, hooks=2))])
        os.chown(spool / "0002-good.json", nobody.pw_uid, nobody.pw_gid)
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                UNREADABLE_DRAIN,
                db_dsn,
                str(spool),
                str(nobody.pw_uid),
                str(nobody.pw_gid),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "HOME": str(spool)},  # libpq-style files under root's home are not ours
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        stats = json.loads(done.stdout.strip().splitlines()[-1])
        assert stats["database_up"] is True and stats["last_error"] is None, stats
        assert _hooks(db_dsn, 0xE500) == 2 and _hooks(db_dsn, 0xE400) == 0
        assert sorted(p.name for p in spool.glob("*.json")) == []
        reason = (spool / "rejected" / "0001-foreign.json.reason").read_text()
        assert "Permission denied" in reason
    finally:
        shutil.rmtree(spool)


def test_a_json_payload_in_a_spool_directory_name_is_not_read(db_dsn: str, tmp_path: Path) -> None:
    """A directory entry is moved aside whatever it holds; the count of pending files drops to 0."""
    spool = tmp_path / "spool"
    (spool / "x.json").mkdir(parents=True)
    (spool / "x.json" / "inner.json").write_text(json.dumps(turn_payload(0xE600, hooks=1)))
    with running_collector(db_dsn, tmp_path) as collector:
        wait_until(lambda: httpx.get(collector.url + "/healthz").json()["spool_pending_files"] == 0, what="0")
        assert _open_in(collector.process.pid, spool) == []
    assert (spool / "rejected" / "x.json" / "inner.json").exists()
    assert _hooks(db_dsn, 0xE600) == 0
