"""File-system helpers on ``posix`` directly, shared by the hook and every producer that writes files.

The hook's path cannot afford ``import os`` (~1.3 ms, most of it ``collections.abc``) nor ``logging``
(``re``, ~12 ms) on a 3 ms budget; the spool (instrumentation/spool.py) and the redaction patterns'
cache (instrumentation/redaction/regex_cache.py) use the same helpers. POSIX only, like Claude Code's
hook runner.
"""

from __future__ import annotations

import posix

from traceability.instrumentation.env import HOME_ENV, XDG_STATE_HOME_ENV, env_str

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

O_RDONLY: int = posix.O_RDONLY
O_WRONLY: int = posix.O_WRONLY
O_RDWR: int = posix.O_RDWR
O_CREAT: int = posix.O_CREAT
O_EXCL: int = posix.O_EXCL
O_APPEND: int = posix.O_APPEND
O_CLOEXEC: int = posix.O_CLOEXEC


def join(*parts: str) -> str:
    out = parts[0]
    for part in parts[1:]:
        if part.startswith("/"):
            out = part
        elif out.endswith("/"):
            out += part
        else:
            out += "/" + part
    return out


def dirname(path: str) -> str:
    head = path.rpartition("/")[0]
    return head or "/"


def basename(path: str) -> str:
    return path.rpartition("/")[2]


def home() -> str:
    value = env_str(HOME_ENV)
    if value:
        return value
    import pwd

    return str(pwd.getpwuid(posix.getuid()).pw_dir)


def expand_user(path: str) -> str:
    if path == "~" or path.startswith("~/"):
        return home() + path[1:]
    return path


def state_home() -> str:
    """``$XDG_STATE_HOME``, else ``~/.local/state``."""
    return env_str(XDG_STATE_HOME_ENV) or join(home(), ".local", "state")


def makedirs(path: str, mode: int = 0o700) -> None:
    try:
        posix.mkdir(path, mode)
    except FileExistsError:
        return
    except FileNotFoundError:
        parent = dirname(path)
        if parent == path:
            raise
        makedirs(parent, mode)
        try:
            posix.mkdir(path, mode)
        except FileExistsError:
            return


def read_bytes(path: str, limit: int = -1) -> bytes:
    """The file's bytes (at most ``limit`` when >= 0). Raises OSError."""
    fd = posix.open(path, O_RDONLY | O_CLOEXEC)
    try:
        return read_fd(fd, limit)
    finally:
        posix.close(fd)


def read_fd(fd: int, limit: int = -1) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while limit < 0 or total < limit:
        want = 1 << 16 if limit < 0 else min(1 << 16, limit - total)
        chunk = posix.read(fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[posix.write(fd, view) :]


def write_atomic(path: str, data: bytes, *, fsync: bool = False, mode: int = 0o600) -> None:
    """Write ``data`` to a unique temporary beside ``path`` and rename it into place."""
    directory, _, name = path.rpartition("/")
    temp = f"{directory}/.{name}.{posix.getpid()}.{posix.urandom(4).hex()}.tmp"
    fd = posix.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    try:
        write_all(fd, data)
        if fsync:
            posix.fsync(fd)
    except BaseException:
        posix.close(fd)
        posix.unlink(temp)
        raise
    posix.close(fd)
    posix.rename(temp, path)


def append_line(path: str, line: str, *, max_bytes: int = 10 * 1024 * 1024) -> None:
    """Append one line (O_APPEND: whole lines from concurrent writers); rotate to ``.1`` past ``max_bytes``."""
    fd = posix.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    try:
        if posix.fstat(fd).st_size > max_bytes:
            try:  # noqa: SIM105 - contextlib costs the hook ~1 ms to import
                posix.rename(path, path + ".1")
            except OSError:
                pass
        write_all(fd, line.encode("utf-8", "replace") + b"\n")
    finally:
        posix.close(fd)


def stat_signature(path: str) -> list[int] | None:
    """(mtime_ns, size, inode) of ``path``, or None when it does not exist."""
    try:
        st = posix.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def unlink_quiet(paths: Iterable[str]) -> None:
    for path in paths:
        try:  # noqa: SIM105 - contextlib costs the hook ~1 ms to import
            posix.unlink(path)
        except OSError:
            pass


def listdir(path: str) -> list[str]:
    try:
        return posix.listdir(path)
    except OSError:
        return []
