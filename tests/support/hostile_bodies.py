"""Hostile OTLP request bodies: random bytes, bit-flipped and truncated protobuf, broken and deep
JSON, valid spans with hostile strings, wrong content types. Shared by ``bench/soak``'s fuzz thread
and the hostile soak.

Trace ids use run ``FUZZ_RUN``, far (in bits) from the senders' runs, so fuzz never touches the
rows the soak counts.
"""

from __future__ import annotations

import json
import random

from tests.support.span_load import request_bytes

FUZZ_RUN = 0xF0F0F0F0
HOSTILE = (
    "\x00",
    "'; DROP TABLE hook_executions; --",
    "x" * 20_000,
    "\ud83d\udca9" * 40,
    "\u202e",
    "NaN",
    "{}",
)


def hostile_request(rng: random.Random, counter: int) -> tuple[bytes, str]:
    """One hostile body and its Content-Type."""
    kind = rng.randrange(7)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 2048)), "application/x-protobuf"
    if kind in (1, 2):
        body = bytearray(request_bytes(FUZZ_RUN, range(counter * 3, counter * 3 + 3), 2)[0])
        for _ in range(rng.randrange(1, 6)):
            body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
        if kind == 2:
            del body[rng.randrange(len(body)) :]
        return bytes(body), "application/x-protobuf"
    if kind == 3:
        depth = rng.randrange(10, 50_000)
        return b'{"resourceSpans": ' + b"[" * depth + b"]" * depth + b"}", "application/json"
    if kind == 4:
        text = rng.choice(HOSTILE)
        span = {
            "traceId": f"{FUZZ_RUN:08x}ffff{counter:020x}", "spanId": f"{counter % 2**60 + 1:016x}",
            "name": text, "startTimeUnixNano": "1767225600000000000", "endTimeUnixNano": "1767225600000000001",
            "attributes": [{"key": text or "k", "value": {"stringValue": text}}],
        }  # fmt: skip
        return json.dumps(
            {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
        ).encode(), "application/json"
    if kind == 5:
        return json.dumps(
            {"resourceSpans": rng.choice([5, "x", [1, [2]], None, {"a": []}])}
        ).encode(), "application/json"
    return b"hello", rng.choice(["text/plain", "application/xml", ""])
