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


_FNV128_OFFSET = 0x6C62272E07BB014262B821756295C58D
_FNV128_PRIME = (1 << 88) + 0x13B
_MASK128 = (1 << 128) - 1
_SESSION_SALT = b"claude-code-session\x00"  # keeps session trace ids apart from any other use of the id


def session_trace_id(session_id: str) -> int:
    """The trace id of a Claude Code session's own trace, the same in every process of the session.

    ``claude -p``, ``--resume <id>`` and ``--continue`` are separate processes sharing one
    ``session_id``; each derives this id, so their session events and turns meet under one root.
    FNV-1a (128 bits) of the salted id, shaped as a UUID (version 8: custom, RFC 9562), so it is never
    the session id itself nor a prompt id (version 4). Its root span id is ``turn_span_id`` of it.
    """
    h = _FNV128_OFFSET
    for byte in _SESSION_SALT + session_id.encode("utf-8", "surrogateescape"):
        h = ((h ^ byte) * _FNV128_PRIME) & _MASK128
    h = (h & ~(0xF << 76) & ~(0x3 << 62)) | (0x8 << 76) | (0x2 << 62)  # version 8, RFC 4122 variant
    return h
