"""Id helpers shared by every span producer. Imports nothing (the hook path uses it).

A turn's root span id is derived from its trace id, so any process that knows a turn's
correlation id (== trace id) can attach child spans to the turn's root without having seen it.
"""

from __future__ import annotations

_MASK64 = (1 << 64) - 1


def turn_span_id(trace_id: int) -> int:
    """The root span id of the turn whose trace id is ``trace_id`` (64 bits, never 0).

    splitmix64's finalizer over the two halves of the trace id: cheap, well mixed, stable.
    """
    z = ((trace_id >> 64) ^ trace_id) & _MASK64
    z = (z + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return z or 1


def parse_trace_uuid(value: str | None) -> int | None:
    """A correlation id (UUID text, with or without dashes, any case) as a trace id; None if invalid."""
    if not value:
        return None
    digits = value.strip().replace("-", "").lower()
    if len(digits) != 32 or digits.strip("0123456789abcdef"):
        return None
    trace_id = int(digits, 16)
    return trace_id or None


def format_trace_uuid(trace_id: int) -> str:
    """A trace id as canonical UUID text (what ``start_trace`` returns)."""
    h = f"{trace_id:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
