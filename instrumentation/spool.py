"""The spool: a directory of OTLP/JSON files, the hand-off between short hook processes and the collector.

Format (the OTel Collector's ``otlpjsonfile`` receiver reads the same): each ``*.json`` file directly
in the spool directory holds one ``ExportTraceServiceRequest`` in OTLP/JSON per line. A writer
creates its file under a dot-prefixed temporary name in the same directory, fsyncs it, and renames
it into place, so a reader never sees half a file. The collector removes a file only after every
span in it is committed.

Imports only ``os``: the hook calls this on its millisecond budget.
"""

from __future__ import annotations

import os

from traceability.instrumentation.env import SPOOL_DIR_ENV, XDG_STATE_HOME_ENV, env_str

SPOOL_SUFFIX = ".json"


def default_spool_dir() -> str:
    """``$TRACEABILITY_SPOOL_DIR``, else ``$XDG_STATE_HOME/traceability/spool`` (``~/.local/state/...``)."""
    configured = env_str(SPOOL_DIR_ENV)
    if configured:
        return configured
    state = env_str(XDG_STATE_HOME_ENV) or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "traceability", "spool")


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
    os.makedirs(spool_dir, mode=0o700, exist_ok=True)
    final = os.path.join(spool_dir, spool_file_name(stem))
    temp = os.path.join(spool_dir, "." + stem + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(b"\n".join(lines) + b"\n")
        while view:
            view = view[os.write(fd, view) :]
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    os.close(fd)
    os.rename(temp, final)
    return final


def is_ready_spool_file(name: str) -> bool:
    """True for a file the drainer may read (complete, not a writer's temporary)."""
    return name.endswith(SPOOL_SUFFIX) and not name.startswith(".")
