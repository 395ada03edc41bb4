"""The drainer's view of the spool directory: only regular files inside it are ever read.

Anyone who can write into the spool can place more than spool files there: a symlink (to a FIFO,
which would block a reader for ever; to ``/dev/zero``, which never ends; to a file outside the
spool, which must not be ingested), a device node, a directory named ``x.json``, a file the
collector may not read. Each entry is checked with ``lstat`` and opened with ``O_NOFOLLOW |
O_NONBLOCK``, then checked again with ``fstat`` (it may have been swapped in between); reads are
capped at ``MAX_SPOOL_FILE_BYTES``. Whatever fails a check is moved, as it is (a symlink is moved,
not its target), under ``rejected/`` with a ``.reason`` file beside it. An entry that cannot even be
moved is remembered, skipped and reported by the drainer's health.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from traceability.exporter.codec.native_records import LogRecordData, MetricPointData
from traceability.exporter.codec.records import SpanRecord
from traceability.instrumentation.spool import is_ready_spool_file

log = logging.getLogger(__name__)

MAX_SPOOL_FILE_BYTES = 256 * 1024 * 1024
REJECTED_DIR = "rejected"
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_READ_CHUNK = 1024 * 1024


@dataclass
class OpenFile:
    """A locked spool file; ``content`` is its bytes until decoded into spans."""

    name: str
    fd: int
    content: bytes | None = None
    spans: list[SpanRecord] = field(default_factory=list)
    logs: list[LogRecordData] = field(default_factory=list)  # Claude Code's log records and metric points
    metrics: list[MetricPointData] = field(default_factory=list)
    bad_lines: list[bytes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


class SpoolFiles:
    """Safe listing, opening, removal and quarantine of the entries of one spool directory."""

    def __init__(self, spool_dir: Path) -> None:
        self.spool_dir = spool_dir
        self.rejected_dir = spool_dir / REJECTED_DIR
        self.unmovable: dict[str, str] = {}  # entry name -> why it could not be read nor moved
        self.set_aside = 0  # entries moved to rejected/ since start (reported by /healthz)

    def pending(self) -> list[str]:
        try:
            names = os.listdir(self.spool_dir)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if is_ready_spool_file(n) and n not in self.unmovable)

    def open_locked(self, name: str) -> OpenFile | None:
        """The locked, read file; None when it is gone, locked by another drainer, or quarantined."""
        path = self.spool_dir / name
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(st.st_mode):
            self.quarantine(name, f"{_kind(st.st_mode)}, not a regular file: not read")
            return None
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as exc:
            why = "a symbolic link" if exc.errno == errno.ELOOP else "cannot be opened"
            self.quarantine(name, f"{why}: {exc.strerror or exc}")
            return None
        try:
            return self._lock_and_read(name, path, fd)
        except BaseException:
            os.close(fd)
            raise

    def _lock_and_read(self, name: str, path: Path, fd: int) -> OpenFile | None:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped after lstat
            os.close(fd)
            self.quarantine(name, f"{_kind(st.st_mode)}, not a regular file: not read")
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            if not os.path.samestat(st, os.lstat(path)):  # removed or replaced after we opened it
                os.close(fd)
                return None
        except FileNotFoundError:
            os.close(fd)
            return None
        item = OpenFile(name=name, fd=fd)
        if st.st_nlink != 1:
            item.errors.append(f"file has {st.st_nlink} hard links (also lives outside the spool): not read")
            return item
        if st.st_size > MAX_SPOOL_FILE_BYTES:
            item.errors.append(f"file is {st.st_size} bytes, over the {MAX_SPOOL_FILE_BYTES} limit")
            return item
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := os.read(fd, _READ_CHUNK):
                size += len(chunk)
                if size > MAX_SPOOL_FILE_BYTES:
                    item.errors.append(f"file grew over the {MAX_SPOOL_FILE_BYTES} byte limit while read")
                    return item
                chunks.append(chunk)
        except OSError as exc:
            item.errors.append(f"file cannot be read: {exc.strerror or exc}")
            return item
        item.content = b"".join(chunks)
        return item

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.spool_dir / name)

    def quarantine(self, name: str, reason: str) -> None:
        """Move the entry itself (never a link's target) to rejected/, the reason beside it."""
        try:
            self.rejected_dir.mkdir(exist_ok=True)
            target = self.rejected_dir / name
            if os.path.lexists(target):
                target = self.rejected_dir / f"{time.time_ns()}-{name}"
            os.rename(self.spool_dir / name, target)
            (self.rejected_dir / f"{target.name}.reason").write_text(reason + "\n", encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            if name not in self.unmovable:
                log.error(
                    "spool entry %s: %s; cannot be moved to %s/ either: %s", name, reason, REJECTED_DIR, exc
                )
            self.unmovable[name] = f"{reason}; cannot be moved: {exc.strerror or exc}"
            return
        self.set_aside += 1
        log.warning("spool entry %s moved to %s/%s: %s", name, REJECTED_DIR, target.name, reason[:500])

    @staticmethod
    def close_all(opened: list[OpenFile]) -> None:
        for item in opened:
            with contextlib.suppress(OSError):
                os.close(item.fd)
