"""The hook as `traceability demo` runs it: the installed fast entry, with the clock at the event's time.

Usage: ``python -I -S demo_hook.py /abs/path/to/hooks/fast_entry.py`` with ``TRACEABILITY_HOOK_NOW_NS``
(nanoseconds since the epoch) in the environment.

The hook takes every timestamp from ``time.time_ns()`` / ``time.time()`` and has no setting for
another "now", so the demo's sessions, spread over days, would all land at the moment the demo
runs. This script moves this process's wall clock to the event's time (elapsed time still runs
normally, so durations are real) and then runs the hook's entry script unchanged.
"""

import os
import runpy
import sys
import time

CLOCK_ENV = "TRACEABILITY_HOOK_NOW_NS"


def _shift_clock(now_ns: int) -> None:
    offset = now_ns - time.time_ns()
    real_ns = time.time_ns
    time.time_ns = lambda: real_ns() + offset
    time.time = lambda: (real_ns() + offset) / 1e9


def main() -> None:
    value = os.environ.get(CLOCK_ENV)
    if value:
        _shift_clock(int(value))
    runpy.run_path(sys.argv[1], run_name="__main__")


if __name__ == "__main__":
    main()
