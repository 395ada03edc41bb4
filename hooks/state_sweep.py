"""The sweep of session state files nobody touched for a week (sessions that never ended): run by
the SessionStart of a new session (hooks/main.py), the one event that loads this module.
"""

from __future__ import annotations

import posix

from traceability.hooks.state import SESSIONS_DIR
from traceability.instrumentation import posix_fs

STALE_AFTER_S = 7 * 24 * 3600  # a session file untouched this long belongs to a session that died


def remove_stale(state_dir: str, now_s: float) -> int:
    """Delete session files nobody touched for ``STALE_AFTER_S`` (sessions that never ended)."""
    directory = posix_fs.join(state_dir, SESSIONS_DIR)
    removed = 0
    for name in posix_fs.listdir(directory):
        path = posix_fs.join(directory, name)
        try:
            if now_s - posix.stat(path).st_mtime > STALE_AFTER_S:
                posix.unlink(path)
                removed += 1
        except OSError:
            continue
    return removed
