"""The receiver fuzzers' shared settings and generators (traces and native signals)."""

from __future__ import annotations

import base64
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.support.hostile import hostile_text, json_values
from traceability.instrumentation import semconv as sc

EXAMPLES = int(os.environ.get("TRACEABILITY_FUZZ_EXAMPLES", "40"))


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


T0 = 1_767_225_600_000_000_000


@st.composite
def attribute(draw: st.DrawFn) -> dict[str, Any]:
    key = draw(st.one_of(st.sampled_from([sc.HOOK_NAME, sc.GEN_AI_TOOL_NAME, sc.INPUT_DATA, sc.SESSION_ID,
                                          sc.EXECUTION_ORDER, sc.QUALITY_SCORE, sc.TAGS, sc.CONTEXT]),
                         hostile_text))  # fmt: skip
    value = draw(
        st.one_of(
            st.builds(lambda s: {"stringValue": s}, hostile_text),
            st.builds(lambda i: {"intValue": str(i)}, st.integers(-(2**63), 2**63 - 1)),
            st.builds(lambda f: {"doubleValue": f}, st.floats(allow_nan=True, allow_infinity=True)),
            st.builds(lambda b: {"boolValue": b}, st.booleans()),
            st.builds(lambda b: {"bytesValue": base64.b64encode(b).decode()}, st.binary(max_size=64)),
            st.builds(
                lambda xs: {"arrayValue": {"values": [{"stringValue": x} for x in xs]}},
                st.lists(hostile_text, max_size=4),
            ),
            st.builds(
                lambda kv: {
                    "kvlistValue": {"values": [{"key": k, "value": {"stringValue": v}} for k, v in kv]}
                },
                st.lists(st.tuples(hostile_text, hostile_text), max_size=3),
            ),
            json_values,  # not an AnyValue at all
        )
    )
    return {"key": key, "value": value}
