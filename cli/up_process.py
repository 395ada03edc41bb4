"""The child processes of `traceability up`: each service a process-group leader that dies with its
parent, stopped by group; the data dir's lock; SIGINT/SIGTERM turned into one ``Shutdown``."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from traceability.cli import local_stack

CHILD_STOP_TIMEOUT_S = 15.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Shutdown(Exception):
    """SIGINT or SIGTERM arrived: stop everything."""


@dataclass
class Child:
    """One long-running service, leader of its own process group."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    health_url: str

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = CHILD_STOP_TIMEOUT_S) -> None:
        """SIGTERM the group, SIGKILL it after ``timeout``, and reap; anything left in the group dies too."""
        if self.proc.poll() is None:
            signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        signal_group(self.proc.pid, signal.SIGKILL)  # grandchildren that outlived the leader


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def die_with_parent_hook() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when `up` dies (even by SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)

    return preexec


def answers(url: str) -> bool:
    """True once an HTTP server answers at ``url`` (any status: it is listening)."""
    try:
        with urllib.request.urlopen(url, timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def exclusive(data_dir: Path) -> Iterator[bool]:
    """Hold the data dir's lock for the duration; yields False when another `up` holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / local_stack.LOCK_FILE).open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def signals_raise_shutdown() -> Iterator[None]:
    """SIGINT/SIGTERM raise Shutdown (the handlers are restored on exit)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        # One stop: a second Ctrl-C/SIGTERM must not interrupt the cleanup the first one starts
        # (it used to escape and leave PostgreSQL running).
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        raise Shutdown(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
