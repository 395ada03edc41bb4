"""The spool: a directory of OTLP/JSON files, the hand-off between short hook processes and the collector.

Format (the OTel Collector's ``otlpjsonfile`` receiver reads the same): each ``*.json`` file directly
in the spool directory holds one ``ExportTraceServiceRequest`` in OTLP/JSON per line. A writer
creates its file under a dot-prefixed temporary name in the same directory, fsyncs it, and renames
it into place, so a reader never sees half a file. The collector removes a file only after every
span in it is committed.

Imports only posix helpers (instrumentation/posix_fs.py): the hook calls this on its millisecond budget.
"""

from __future__ import annotations

from traceability.instrumentation import posix_fs
from traceability.instrumentation.env import SPOOL_DIR_ENV, env_str

SPOOL_SUFFIX = ".json"


def default_spool_dir() -> str:
    """``$TRACEABILITY_SPOOL_DIR``, else ``$XDG_STATE_HOME/traceability/spool`` (``~/.local/state/...``)."""
    return env_str(SPOOL_DIR_ENV) or posix_fs.join(posix_fs.state_home(), "traceability", "spool")


def resolve_spool_dir(spool_dir: str | None = None) -> str:
    """Setting resolution: argument, else environment, else default."""
    return spool_dir or default_spool_dir()


def spool_file_name(stem: str) -> str:
    """A final file name; ``stem`` should be unique (time + pid + random) and sort by time."""
    return stem + SPOOL_SUFFIX


def write_spool_file(spool_dir: str, stem: str, lines: list[bytes], *, fsync: bool = True) -> str:
    """Write ``lines`` (each one OTLP/JSON request, no newline) atomically; return the final path.

    Raises OSError (disk full, read-only, ...); callers on the hook path catch and log it.
    """
    posix_fs.makedirs(spool_dir, 0o700)
    final = posix_fs.join(spool_dir, spool_file_name(stem))
    posix_fs.write_atomic(final, b"\n".join(lines) + b"\n", fsync=fsync, mode=0o600)
    return final


def is_ready_spool_file(name: str) -> bool:
    """True for a file the drainer may read (complete, not a writer's temporary)."""
    return name.endswith(SPOOL_SUFFIX) and not name.startswith(".")
