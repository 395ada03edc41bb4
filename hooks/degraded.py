"""A hook run that must stop short: its deadline passed, or its stdin is over the cap.

The deadline is a ``SIGALRM`` timer (``_signal``, built in: the ``signal`` module imports ``enum``);
its handler raises ``DeadlineExceeded`` in whatever the run is doing (``_sre`` checks for signals
while it matches, so a long regex scan is interrupted too). The run then writes one minimal hook span
(event, session, prompt, tool: no payload content), marked ``traceability.hook.degraded``, and exits 0;
that span is built by hooks/degraded_span.py, which only such a run loads.
"""

from __future__ import annotations

import _signal

HEAD_BYTES = 64 * 1024  # where the identifying fields are looked for in an over-size payload


class DeadlineExceeded(Exception):
    pass


class PayloadTooLarge(Exception):
    def __init__(self, head: bytes) -> None:
        super().__init__(f"stdin over the cap; the first {len(head)} bytes looked at")
        self.head = head


def _fire(signum: int, frame: object) -> None:
    raise DeadlineExceeded("the hook's deadline passed")


def arm(seconds: float) -> None:
    _signal.signal(_signal.SIGALRM, _fire)
    _signal.setitimer(_signal.ITIMER_REAL, seconds)


def disarm() -> None:
    _signal.setitimer(_signal.ITIMER_REAL, 0)
