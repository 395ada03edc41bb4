"""The in-flight byte budget: request bytes held in memory by one process at once.

Bytes are reserved as they arrive (and as a body is decompressed), never from the length a client
declares, so a slow sender holds only what it has actually sent; the connection timeouts of
``serving.protocol`` bound how long it can hold even that. Any receiver (an OTLP/HTTP route, an
OTLP/gRPC servicer) can share one budget: ``reservation = budget.open()``, ``reservation.grow(n)``
per chunk (False: over budget, answer 429 / RESOURCE_EXHAUSTED), ``reservation.close()`` at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class InflightBudget:
    limit: int
    used: int = 0

    def open(self) -> Reservation:
        return Reservation(self)

    def fits(self, size: int) -> bool:
        """Whether ``size`` more bytes would fit now (nothing is reserved)."""
        return self.used + size <= self.limit


@dataclass
class Reservation:
    budget: InflightBudget
    held: int = field(default=0)

    def grow(self, size: int) -> bool:
        """Reserve ``size`` more bytes; False (and nothing reserved) when they do not fit."""
        if size > 0 and not self.budget.fits(size):
            return False
        self.budget.used += size
        self.held += size
        return True

    def close(self) -> None:
        self.budget.used -= self.held
        self.held = 0
