"""The lean encoder equals the OTel SDK's; 50 concurrent hook processes on one session lose nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from tests.support.hooks import HookEnv, SpanView, iter_requests, load_sequence, parse_request
from traceability.hooks.main import VERSION
from traceability.instrumentation import otlp_json
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.otlp_encode import spans_to_otlp_json
from traceability.instrumentation.otlp_json import LeanSpan, SpanEvent, encode_request

_STATUS = {0: StatusCode.UNSET, 1: StatusCode.OK, 2: StatusCode.ERROR}
_KIND = {1: SpanKind.INTERNAL, 2: SpanKind.SERVER, 3: SpanKind.CLIENT}


def sdk_span(lean: LeanSpan, resource: dict[str, Any]) -> ReadableSpan:
    """The same span built with the OTel SDK."""
    parent = (
        SpanContext(
            lean.trace_id, lean.parent_span_id, is_remote=lean.parent_remote, trace_flags=TraceFlags(1)
        )
        if lean.parent_span_id
        else None
    )
    return ReadableSpan(
        name=lean.name,
        context=SpanContext(lean.trace_id, lean.span_id, is_remote=False, trace_flags=TraceFlags(1)),
        parent=parent,
        resource=Resource(resource),
        attributes=lean.attributes,
        events=[Event(e.name, e.attributes, timestamp=e.time_unix_nano) for e in lean.events],
        kind=_KIND[lean.kind],
        instrumentation_scope=InstrumentationScope(sc.INSTRUMENTATION_SCOPE, VERSION),
        status=Status(_STATUS[lean.status_code], lean.status_message or None)
        if lean.status_code == 2
        else Status(_STATUS[lean.status_code]),
        start_time=lean.start_time_unix_nano,
        end_time=lean.end_time_unix_nano,
    )


def assert_same_as_sdk(spans: list[LeanSpan], resource: dict[str, Any]) -> None:
    lean_bytes = encode_request(spans, resource, sc.INSTRUMENTATION_SCOPE, VERSION)
    sdk_spans = [sdk_span(s, resource) for s in spans]
    theirs = encode_spans(sdk_spans)
    assert parse_request(lean_bytes) == theirs
    # one set of OTLP/JSON rules: the general encoder writes the very same bytes for the SDK's spans
    assert spans_to_otlp_json(sdk_spans) == lean_bytes


text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
attr_value = st.one_of(
    text,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(text, max_size=4),
    st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=4),
)
attributes = st.dictionaries(st.text(min_size=1, max_size=20), attr_value, max_size=8)


@settings(max_examples=150, deadline=None)
@given(
    trace_id=st.integers(1, 2**128 - 1),
    span_id=st.integers(1, 2**64 - 1),
    parent=st.one_of(st.just(0), st.integers(1, 2**64 - 1)),
    remote=st.booleans(),
    kind=st.sampled_from([1, 2, 3]),
    start=st.integers(0, 2**63 - 1),
    length=st.integers(0, 10**12),
    attrs=attributes,
    events=st.lists(st.tuples(text, st.integers(0, 2**63 - 1), attributes), max_size=3),
    status=st.sampled_from([0, 1, 2]),
    message=text,
    name=text,
)
def test_lean_encoder_equals_the_sdk_encoder(
    trace_id: int, span_id: int, parent: int, remote: bool, kind: int, start: int, length: int,
    attrs: dict[str, Any], events: list[tuple[str, int, dict[str, Any]]], status: int, message: str, name: str,
) -> None:  # fmt: skip
    lean = LeanSpan(
        trace_id, span_id, name, start, min(start + length, 2**63 - 1),
        parent_span_id=parent, parent_remote=remote, kind=kind, attributes=attrs,
        events=[SpanEvent(n, t, a) for n, t, a in events], status_code=status,
        status_message=message if status == 2 else "",
    )  # fmt: skip
    assert_same_as_sdk([lean], {"service.name": "claude-code-hooks", "host.name": "h"})


def test_spans_the_hook_wrote_equal_the_sdk_encoding(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    hook.replay(load_sequence("v2.1.270_s01_S01_startup_tools.jsonl"))
    checked = 0
    for request in iter_requests(hook.spool):
        for resource_spans in request.resource_spans:
            resource = {kv.key: kv.value.string_value for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                lean = []
                for span in scope_spans.spans:
                    attrs: dict[str, Any] = {}
                    for kv in span.attributes:
                        which = kv.value.WhichOneof("value")
                        value = getattr(kv.value, which)
                        attrs[kv.key] = (
                            list(v.string_value for v in value.values) if which == "array_value" else value
                        )
                    lean.append(
                        LeanSpan(
                            int(span.trace_id.hex(), 16), int(span.span_id.hex(), 16), span.name,
                            span.start_time_unix_nano, span.end_time_unix_nano,
                            parent_span_id=int(span.parent_span_id.hex() or "0", 16),
                            parent_remote=bool(span.flags & 0x200), attributes=attrs,
                            status_code=span.status.code, status_message=span.status.message,
                        )
                    )  # fmt: skip
                assert encode_spans([sdk_span(s, resource) for s in lean]) == request
                checked += len(lean)
    assert checked == len(hook.spans()) == 53  # 40 hook runs, 10 tools, 1 subagent, 1 turn, 1 session


def test_lean_json_matches_json_module() -> None:
    value = {"a": [1, 2.5, None, True, 'é\n"\\\u2028'], "b": {"c": -0.0, "d": 10**30}}
    assert otlp_json.dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert otlp_json.loads(' {"x": [1, "\\ud83d\\ude00"]}\n') == {"x": [1, "😀"]}


def test_fifty_concurrent_hooks_on_one_session_lose_nothing_and_cross_nothing(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    base = {"session_id": "c0ffee00-0000-4000-8000-000000000050", "cwd": "/w",
            "prompt_id": "7e57a11e-0000-4000-8000-000000000001", "permission_mode": "default"}  # fmt: skip
    hook.replay([{**base, "hook_event_name": "UserPromptSubmit", "prompt": "go"}])
    n = 50

    def tool(i: int, event: str, **extra: Any) -> dict[str, Any]:
        return {**base, "hook_event_name": event, "tool_name": "Bash", "tool_use_id": f"toolu_{i:03d}",
                "tool_input": {"command": f"echo {i}"}, **extra}  # fmt: skip

    for wave in (
        [tool(i, "PreToolUse") for i in range(n)],
        [tool(i, "PostToolUse", tool_response={"stdout": str(i)}, duration_ms=i) for i in range(n)],
    ):
        processes = [hook.spawn(event) for event in wave]  # all 50 run at once
        for process in processes:
            assert process.wait(timeout=120) == 0
            assert process.stdout is not None and process.stdout.read() == b""
    hook.replay([{**base, "hook_event_name": "Stop"}])
    spans = hook.spans()
    tools = [s for s in spans if s.name == "execute_tool Bash"]
    assert len(tools) == n
    (turn,) = [s for s in spans if s.name == sc.SPAN_NAME_TURN]
    for span in tools:
        i = int(span.attributes[sc.GEN_AI_TOOL_CALL_ID].removeprefix("toolu_"))
        assert span.json_attr(sc.INPUT_DATA) == {"command": f"echo {i}"}
        assert span.json_attr(sc.OUTPUT_DATA) == {"stdout": str(i)}
        assert span.attributes[sc.DURATION_MS] == float(i)
        assert span.attributes[sc.STATUS] == "completed"
        assert span.trace_id == turn.trace_id and span.parent_span_id == turn.span_id
    by_tool = {s.span_id: s for s in tools}
    hooks: list[SpanView] = [s for s in spans if s.attributes.get(sc.SPAN_TYPE) == "hook"]
    assert len(hooks) == 2 * n + 2
    for span in hooks:
        if span.attributes[sc.HOOK_TYPE] in ("PreToolUse", "PostToolUse"):
            parent = by_tool[span.parent_span_id]  # each hook under its own tool's span
            assert parent.attributes[sc.GEN_AI_TOOL_CALL_ID] == span.attributes[sc.GEN_AI_TOOL_CALL_ID]
    orders = [s.attributes[sc.EXECUTION_ORDER] for s in spans if s is not turn]
    assert sorted(orders) == list(range(1, len(orders) + 1))
    assert turn.json_attr(sc.CONTEXT)["tool_uses"] == n
