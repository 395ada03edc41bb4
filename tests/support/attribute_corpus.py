"""Attribute values that stress every conversion rule of the span and event mapping: empty,
NUL, lone surrogates, numbers as text, invalid and NaN JSON, over-long text, non-finite floats,
huge ints, arrays of mixed kinds."""

from __future__ import annotations

from traceability.exporter.codec.records import AttrValue
from traceability.instrumentation import semconv as sc

VALUES: list[AttrValue] = [
    "", "plain", "ünïcode ✓", "a\x00b", "x\ud800y", "true", "0", "yes", "12.5", "x" * 3000,
    "é" * 400 + "/tail.py", '{"a": 1, "b": [1, 2]}', '{"a": NaN}', "[1, 2", '"\\u0000"', "null", "nan",
    "8bbcceab-0b3e-4e24-98c9-ec146b1ca8c6", sc.SPAN_TYPE_TURN, sc.SPAN_TYPE_HOOK, sc.STATUS_FAILED,
    sc.STATUS_BLOCKED, sc.TRACE_STATUS_FAILED, True, False, 0, 7, -3, 2**40, 0.85, float("nan"),
    float("inf"), -float("inf"), 1e300, ("a", "b\x00"), (1, 2.5), (True,), (), None,
]  # fmt: skip
