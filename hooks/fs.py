"""The hook's two log files, written with posix calls (instrumentation/posix_fs.py).

``hook_executions.log``, one short line per hook run (at INFO and below); ``quality_enforcer.log``,
enforcer details and every internal error with its traceback. The hook's path cannot afford
``logging`` (``re``, ~12 ms) on a 3 ms budget.
"""

from __future__ import annotations

import time

from traceability.instrumentation.posix_fs import append_line, dirname, makedirs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from traceability.hooks.settings import HookSettings


INFO = 20
WARNING = 30
ERROR = 40


def _stamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def _write(path: str, line: str) -> None:
    try:
        append_line(path, line)
    except FileNotFoundError:
        try:
            makedirs(dirname(path))
            append_line(path, line)
        except OSError:
            pass
    except OSError:
        pass  # logging must never fail a hook


def log_execution(settings: HookSettings, fields: str) -> None:
    if settings.log_level <= INFO:
        _write(settings.executions_log, f"{_stamp()} {fields}")


def log(settings: HookSettings, level: int, message: str) -> None:
    if level >= settings.log_level:
        name = {INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR"}.get(level, "DEBUG")
        _write(settings.log_file, f"{_stamp()} {name} traceability-hook: {message}")


def log_exception(settings: HookSettings, context: str, exc: BaseException) -> None:
    import traceback

    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
    log(settings, ERROR, f"{context}: {type(exc).__name__}: {exc}\n{detail}")
