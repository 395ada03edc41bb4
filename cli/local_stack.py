"""Where `traceability up` keeps things on one machine, shared by `up`, `doctor` and `demo`.

- the data dir: ``$TRACEABILITY_DATA_DIR``, else ``$XDG_DATA_HOME/traceability``, else
  ``~/.local/share/traceability``; it holds the embedded cluster (or a pointer to where it lives
  when we are root, see ``embedded_pg.cluster_dir_for``), the remembered PostgreSQL port, the
  children's logs and, while `up` runs, ``up.json`` saying where everything listens.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from traceability.instrumentation.env import DATA_DIR_ENV, XDG_DATA_HOME_ENV, env_str

DATABASE_NAME = "traceability"
PORT_FILE = "postgres.port"
STATE_FILE = "up.json"
LOCK_FILE = "up.lock"
LOGS_DIR = "logs"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_COLLECTOR_PORT = 4318
DEFAULT_API_PORT = 8053
COLLECTOR_HEALTH_PATH = "/healthz"
API_PREFIX = "/api/pattern-traceability"
API_HEALTH_PATH = API_PREFIX + "/health"


def resolve_data_dir(data_dir: str | None = None) -> Path:
    """Setting resolution: argument, else ``$TRACEABILITY_DATA_DIR``, else the XDG data dir."""
    if data_dir:
        return Path(data_dir).expanduser()
    configured = env_str(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    base = env_str(XDG_DATA_HOME_ENV) or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "traceability"


def resolve_db_url(db_url: str | None = None, data_dir: str | None = None) -> str | None:
    """The one rule every command follows: the argument, else ``$TRACEABILITY_DB_URL``, else the
    database of the `up` running with this data dir; None when there is none."""
    from traceability.exporter.storage.database import resolve_dsn

    dsn = resolve_dsn(db_url)
    if dsn:
        return dsn
    state = read_state(resolve_data_dir(data_dir))
    return state.db_url if state else None


def no_database_message(command_name: str) -> str:
    """What a command that needs a database says when ``resolve_db_url`` finds none."""
    from traceability.cli.command import user_command

    return (
        f"traceability {command_name}: no database: pass --db-url, set TRACEABILITY_DB_URL, "
        f"or start everything with `{user_command()} up`"
    )


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` (probed the way servers bind: SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def remembered_pg_port(data_dir: Path) -> int | None:
    try:
        return int((data_dir / PORT_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def remember_pg_port(data_dir: Path, port: int) -> None:
    (data_dir / PORT_FILE).write_text(f"{port}\n")


def embedded_dsn(port: int) -> str:
    from traceability.exporter.devtools.embedded_pg import SUPERUSER

    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE_NAME}"


@dataclass(frozen=True)
class StackState:
    """What a running `up` tells `doctor` and `demo` (``up.json`` in the data dir)."""

    pid: int
    db_url: str
    embedded_postgres: bool
    collector_url: str
    api_url: str
    spool_dir: str
    logs_dir: str


def write_state(data_dir: Path, state: StackState) -> None:
    path = data_dir / STATE_FILE
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    temp.replace(path)


def read_state(data_dir: Path) -> StackState | None:
    """The state of a running `up`, or None (no file, unreadable, or its process is gone)."""
    try:
        raw = json.loads((data_dir / STATE_FILE).read_text())
        state = StackState(**raw)
    except (OSError, ValueError, TypeError):
        return None
    try:
        os.kill(state.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return state


def clear_state(data_dir: Path) -> None:
    (data_dir / STATE_FILE).unlink(missing_ok=True)


def http_url(host: str, port: int, path: str = "") -> str:
    """A URL clients can use: a wildcard bind address is reached through loopback."""
    client_host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in client_host:
        client_host = f"[{client_host}]"
    return f"http://{client_host}:{port}{path}"
