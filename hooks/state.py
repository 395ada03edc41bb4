"""Per-session correlation state shared by the short hook processes of one Claude Code session.

One JSON file per session under the state directory, read-modified-written in place while holding
an exclusive POSIX record lock (``lockf``) on it. Claude Code runs matching hooks and parallel tools
concurrently; the lock makes each process's update atomic, so nothing is lost or crossed. The file
is never unlinked while in use (a waiter would then hold a lock on a dead inode). It outlives
SessionEnd, which only resets the process's part (a ``--resume`` process continues the session:
hooks/correlation.py); files nobody touched for a week are swept (hooks/state_sweep.py).

In place rather than write-and-rename: one open, no new inode, ~0.2 ms less per hook run. A process
killed mid-write leaves bytes that do not parse, which reads as a fresh state (correlation for that
session restarts; no hook fails).
"""

from __future__ import annotations

import posix

from traceability.instrumentation import otlp_json, posix_fs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from traceability.hooks.state_types import HookState

SESSIONS_DIR = "sessions"
STATE_VERSION = 1


def session_key(session_id: str) -> str:
    """A file-name-safe key for a session id (UUIDs pass through unchanged)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in session_id[:128])
    if safe != session_id or not safe or safe.startswith("."):
        safe = "x" + safe + "-" + f"{_fnv1a64(session_id.encode('utf-8', 'surrogateescape')):016x}"
    return safe


def _fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def new_state(session_id: str) -> HookState:
    return {
        "v": STATE_VERSION,
        "session_id": session_id,
        "session": None,
        "turn": None,
        "tools": {},
        "agents": {},
    }


# --- typed reads: a loaded state checked once against hooks/state_types.py, so the code that uses it
# reads ``tool["span"]`` as the int it is. A file without that shape (edited by hand, or written by a
# hook this one does not understand) is corrupt: it is reset, and the hook logs why. Only a missing
# ``order`` is tolerated (0), as states have always been read.

SESSION_INTS = ("trace", "start", "order")
TURN_INTS = ("trace", "start", "order")
TOOL_INTS = ("trace", "span", "parent", "start", "order")
AGENT_INTS = ("trace", "span", "parent", "start", "order")
TOOL_TEXTS = ("name", "prompt_id")
AGENT_TEXTS = ("type", "tool", "prompt_id")
OPTIONAL_INTS = ("resumes", "last", "tool_uses", "prompt_length")


class CorruptState(ValueError):
    """The state file's content does not have the state's shape."""


def _entry(raw: Any, where: str, ints: tuple[str, ...], texts: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CorruptState(f"{where} is a {type(raw).__name__}, not an object")
    raw.setdefault("order", 0)
    for key in ints:
        value = raw.get(key)
        if type(value) is not int:
            raise CorruptState(f"{where}.{key} is {value!r}, not an integer")
    for key in OPTIONAL_INTS:
        value = raw.get(key)
        if value is not None and type(value) is not int:
            raise CorruptState(f"{where}.{key} is {value!r}, not an integer")
    for key in texts:
        value = raw.setdefault(key, "")
        if not isinstance(value, str):
            raise CorruptState(f"{where}.{key} is {value!r}, not a string")
    return raw


def _table(raw: Any, where: str, ints: tuple[str, ...], texts: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CorruptState(f"{where} is a {type(raw).__name__}, not an object")
    for key, entry in raw.items():
        _entry(entry, f"{where}[{key!r}]", ints, texts)
    return raw


def typed_state(data: dict[str, Any]) -> HookState:
    """``data`` (a parsed state file of the current version) checked in place; raises ``CorruptState``."""
    if not isinstance(data.get("session_id"), str):
        raise CorruptState("session_id is not a string")
    if data.get("session") is not None:
        _entry(data["session"], "session", SESSION_INTS)
    turn = data.get("turn")
    if turn is not None:
        _entry(turn, "turn", TURN_INTS, ("prompt_id",))
    data["tools"] = _table(data.get("tools", {}), "tools", TOOL_INTS, TOOL_TEXTS)
    data["agents"] = _table(data.get("agents", {}), "agents", AGENT_INTS, AGENT_TEXTS)
    data.setdefault("session", None)
    data.setdefault("turn", None)
    return data  # type: ignore[return-value]  # checked above, field by field (typing.cast would import typing)


class SessionState:
    """``with SessionState(dir, session_id) as state:`` holds the session's lock; ``state.data`` is the
    mutable state, written back on a clean exit. ``problem`` says why a corrupt file was reset
    (for the caller to log; "" when it read fine)."""

    def __init__(self, state_dir: str, session_id: str) -> None:
        self.directory = posix_fs.join(state_dir, SESSIONS_DIR)
        self.path = posix_fs.join(self.directory, session_key(session_id or "unknown") + ".json")
        self.session_id = session_id
        self.data: HookState = new_state(session_id)
        self.problem = ""
        self._fd = -1
        self._size = 0

    def __enter__(self) -> SessionState:
        try:
            self._fd = posix.open(self.path, posix_fs.O_RDWR | posix_fs.O_CREAT | posix_fs.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            posix_fs.makedirs(self.directory)
            self._fd = posix.open(self.path, posix_fs.O_RDWR | posix_fs.O_CREAT | posix_fs.O_CLOEXEC, 0o600)
        try:
            posix.lockf(self._fd, posix.F_LOCK, 0)
            raw = posix_fs.read_fd(self._fd)
        except BaseException:
            posix.close(self._fd)
            raise
        self._size = len(raw)
        self.data = self._parse(raw)
        return self

    def _parse(self, raw: bytes) -> HookState:
        """The file's state; a fresh one when it is empty, from another version, or corrupt."""
        if not raw:
            return new_state(self.session_id)
        try:
            data = otlp_json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            # a process killed mid-write (see the module docstring): correlation restarts
            self.problem = "the state file is not JSON"
            return new_state(self.session_id)
        if not isinstance(data, dict) or data.get("v") != STATE_VERSION:
            return new_state(self.session_id)
        try:
            return typed_state(data)
        except CorruptState as exc:
            self.problem = str(exc)
            return new_state(self.session_id)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                out = otlp_json.dumps(self.data).encode("utf-8", "replace")
                posix.lseek(self._fd, 0, 0)
                posix_fs.write_all(self._fd, out)
                if len(out) < self._size:
                    posix.ftruncate(self._fd, len(out))
        finally:
            posix.close(self._fd)  # closing releases the lock
