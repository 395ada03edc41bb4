"""Hostile values for fuzzing: strings that break naive SQL, JSON, logs or terminals."""

from __future__ import annotations

from hypothesis import strategies as st

HOSTILE_STRINGS = (
    "",
    "\x00",
    "a\x00b\x00",
    "'; DROP TABLE hook_executions; --",
    '" OR 1=1 --',
    "$$; SELECT pg_sleep(10); $$",
    "\\\\x00\\u0000",
    "%s%s%n%x",
    "${jndi:ldap://x/y}",
    "<script>alert(1)</script>",
    "\u202etxt.exe",
    "\U0001f4a9" * 50,
    "\r\n\tINFO forged log line",
    "x" * 70_000,
    "\ufeff\ufffe\uffff",
    "NaN",
    "-Infinity",
    "null",
    '{"a": [1, 2, {"b": null}]}',
    "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]",
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
)

hostile_text = st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=200))
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(hostile_text, children, max_size=5)
    ),
    max_leaves=25,
)
