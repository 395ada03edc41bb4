"""A private PostgreSQL cluster, for `traceability up` with no database URL and for the test suite.

Binaries come from the machine (``/usr/lib/postgresql/*/bin``, then ``PATH``), else from the
``pgserver`` wheel. PostgreSQL refuses to run as root, so as root the cluster runs as the
``postgres`` system user (or ``nobody``), and lives somewhere that user can reach.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "postgres"


class EmbeddedPostgresError(RuntimeError):
    """The cluster could not be found, created, started or stopped; the message says why."""


def find_bin_dir() -> Path | None:
    """The directory holding initdb/pg_ctl/postgres, newest version first, or None."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    for cand in candidates:
        if (Path(cand) / "initdb").exists():
            return Path(cand)
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    try:
        import pgserver  # optional fallback wheel

        wheel_bin = Path(pgserver.__file__).parent / "pginstall" / "bin"
        if (wheel_bin / "initdb").exists():
            return wheel_bin
    except ImportError:
        pass
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as_user() -> str | None:
    """Which unprivileged user runs the server when we are root (None when we are not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise EmbeddedPostgresError("running as root and no unprivileged 'postgres' or 'nobody' user exists")


def _traversable_by(path: Path, user: str) -> bool:
    """True when every parent of ``path`` can be entered by ``user`` (checked by that user)."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    result = subprocess.run(
        ["runuser", "-u", user, "--", "test", "-x", str(probe)], capture_output=True, check=False
    )
    return result.returncode == 0


def cluster_dir_for(data_dir: Path) -> Path:
    """Where the cluster for ``data_dir`` lives.

    Normally ``data_dir/pg``. As root the server runs as another user, who usually cannot enter
    root's home; then the cluster lives under ``/var/lib/pattern-traceability/`` instead.
    """
    wanted = data_dir / "pg"
    user = _run_as_user()
    if user is None or _traversable_by(data_dir, user):
        return wanted
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return Path("/var/lib/pattern-traceability") / digest / "pg"


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL cluster in ``cluster_dir``, listening on 127.0.0.1:``port`` only."""

    cluster_dir: Path
    port: int = 0
    fast_unsafe: bool = False  # fsync off: for throwaway test clusters only
    bin_dir: Path | None = None
    _user: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.bin_dir = self.bin_dir or find_bin_dir()
        if self.bin_dir is None:
            raise EmbeddedPostgresError(
                "no PostgreSQL binaries found: install PostgreSQL (Debian: apt-get install postgresql) "
                "or the pgserver wheel (pip install pgserver), or set TRACEABILITY_DB_URL"
            )
        self._user = _run_as_user()
        if not self.port:
            self.port = free_port()

    @property
    def dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def log_file(self) -> Path:
        return self.cluster_dir.parent / "postgres.log"

    def _cmd(self, *args: str) -> list[str]:
        assert self.bin_dir is not None
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._user:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        return cmd

    def _chown(self, path: Path) -> None:
        if self._user:
            info = pwd.getpwnam(self._user)
            os.chown(path, info.pw_uid, info.pw_gid)

    def initialized(self) -> bool:
        return (self.cluster_dir / "PG_VERSION").exists()

    def init(self) -> None:
        parent = self.cluster_dir.parent
        parent.mkdir(parents=True, exist_ok=True)
        self._chown(parent)
        result = subprocess.run(
            self._cmd(
                "initdb",
                "-D",
                str(self.cluster_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                *(["--no-sync"] if self.fast_unsafe else []),
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")

    def start(self, timeout: float = 60.0) -> None:
        """Initialize when needed, start, and wait until it accepts connections."""
        if not self.initialized():
            self.init()
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=''",
            "-c max_connections=200",
        ]
        if self.fast_unsafe:
            # fsync off only: commits still reach the OS, so a killed server loses nothing
            options += ["-c fsync=off", "-c full_page_writes=off"]
        if not self.log_file.exists():
            self.log_file.touch()
        self._chown(self.log_file)
        result = subprocess.run(
            self._cmd(
                "pg_ctl",
                "-D",
                str(self.cluster_dir),
                "-l",
                str(self.log_file),
                "-o",
                " ".join(options),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise EmbeddedPostgresError(f"PostgreSQL did not start: {result.stderr.strip()}\n{tail}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise EmbeddedPostgresError(f"PostgreSQL started but port {self.port} does not answer")

    def running(self) -> bool:
        result = subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.cluster_dir), "status"), capture_output=True, check=False
        )
        return result.returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; idempotent."""
        if not self.initialized() or not self.running():
            return
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.cluster_dir), "-m", mode, "-w", "stop"),
            capture_output=True,
            check=False,
        )

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.cluster_dir.parent, ignore_errors=True)
