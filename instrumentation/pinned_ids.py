"""An OTel ``IdGenerator`` that can be told the next trace/span id.

The SDK asks the generator for a trace id only when a span has no parent, and for a span id for
every span. ``ExecutionTracer`` pins both while it starts a turn's root span, so the root's trace
id is the correlation id (a UUID) and its span id is ``ids.turn_span_id(trace id)``. The pin is
held in a ``ContextVar``, so concurrent threads and asyncio tasks never see each other's pins.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

_pinned: ContextVar[tuple[int, int] | None] = ContextVar("traceability_pinned_ids", default=None)


class Uuid4IdGenerator(RandomIdGenerator):
    """Random ids; trace ids are version-4 UUIDs (their low 56 bits stay uniformly random).

    Drawn from ``random`` like the SDK's own ids, not ``uuid.uuid4()``: ``os.urandom`` releases
    the GIL, which hands it to a busy exporter thread for milliseconds.
    """

    def generate_trace_id(self) -> int:
        return uuid.UUID(int=random.getrandbits(128), version=4).int


class PinnedIdGenerator(IdGenerator):
    """Returns the pinned ids inside ``pin()``, else delegates to ``fallback``."""

    def __init__(self, fallback: IdGenerator | None = None) -> None:
        self.fallback = fallback or Uuid4IdGenerator()

    @contextmanager
    def pin(self, trace_id: int, span_id: int) -> Iterator[None]:
        token = _pinned.set((trace_id, span_id))
        try:
            yield
        finally:
            _pinned.reset(token)

    def generate_trace_id(self) -> int:
        pinned = _pinned.get()
        return pinned[0] if pinned else self.fallback.generate_trace_id()

    def generate_span_id(self) -> int:
        pinned = _pinned.get()
        return pinned[1] if pinned else self.fallback.generate_span_id()

    def is_trace_id_random(self) -> bool:
        return self.fallback.is_trace_id_random()
