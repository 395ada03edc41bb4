"""Notice that GNU make, our parent, was sent SIGINT: `make up` then stops as a supervisor expects.

On SIGINT, GNU make's fatal-signal handler resets SIGINT to its default action and waits for its
children without signalling them (it counts on the terminal having sent SIGINT to the whole process
group, as Ctrl-C does); only SIGTERM is passed on. A supervisor that sends SIGINT to the PID it
started (make's) would wait forever. The handler's footprint is visible in ``/proc/PID/status``:
SIGINT leaves the caught set (``SigCgt``) and is blocked (``SigBlk``) while the handler waits.
Linux only; elsewhere, and when the parent is not make, ``for_make_parent`` returns None.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

MAKE_NAMES = frozenset({"make", "gmake"})
SIGINT_BIT = 1 << (int(signal.SIGINT) - 1)


def _signal_masks(pid: int) -> dict[str, int] | None:
    """``SigBlk``/``SigIgn``/``SigCgt`` of ``pid`` as integers, or None when it cannot be read."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    masks = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("SigBlk", "SigIgn", "SigCgt"):
            masks[key] = int(value.strip(), 16)
    return masks if len(masks) == 3 else None


@dataclass(frozen=True)
class ParentWatch:
    pid: int

    @classmethod
    def for_make_parent(cls) -> ParentWatch | None:
        """A watch on our parent when it is make and catches SIGINT now (it ignores SIGINT when a
        shell started it in the background: then no SIGINT can stop it anyway)."""
        pid = os.getppid()
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            return None
        masks = _signal_masks(pid)
        if name not in MAKE_NAMES or masks is None or not masks["SigCgt"] & SIGINT_BIT:
            return None
        return cls(pid)

    def interrupted(self) -> bool:
        """True once make is inside its SIGINT handler: SIGINT no longer caught, and blocked."""
        if os.getppid() != self.pid:
            return False  # make is gone; PR_SET_PDEATHSIG-style cleanup is not our business here
        masks = _signal_masks(self.pid)
        return (
            masks is not None
            and not masks["SigCgt"] & SIGINT_BIT
            and not masks["SigIgn"] & SIGINT_BIT
            and bool(masks["SigBlk"] & SIGINT_BIT)
        )
