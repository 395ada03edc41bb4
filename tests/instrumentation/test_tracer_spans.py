"""ExecutionTracer -> the spans it emits, compared whole (fixed ids, fixed clock, in-memory exporter)."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Sequence
from importlib.metadata import version

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.span_dicts import MS, T0, FixedClock, IncrementalIds, span_dicts
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.ids import turn_span_id
from traceability.instrumentation.resource import build_resource
from traceability.instrumentation.tracer import ExecutionTracer

SESSION = "8bbcceab-0b3e-4e24-98c9-ec146b1ca8c6"
CORR_1 = "00000000-0000-0000-0000-000000000001"
ROOT_1 = f"{turn_span_id(1):016x}"


async def run_example1(tracer: ExecutionTracer) -> str:
    """examples/example1_basic_trace.py's calls, against a given tracer."""
    corr_id = await tracer.start_trace(
        source="user-prompt-submit",
        prompt_text="Implement authentication system",
        session_id=SESSION,
        tags=["authentication", "backend"],
    )
    await tracer.track_hook_execution(
        correlation_id=corr_id,
        hook_name="quality-enforcer",
        tool_name="Write",
        duration_ms=125.5,
        success=True,
        quality_check_performed=True,
        quality_results={"violations_found": 3, "corrections_applied": 2, "quality_score": 0.85},
    )
    await tracer.track_hook_execution(
        correlation_id=corr_id,
        hook_name="rag-intelligence",
        tool_name="Write",
        duration_ms=450.0,
        success=True,
        rag_query_performed=True,
        rag_results={"matches": 5, "confidence": 0.92, "top_pattern": "async_db_writer_v2"},
    )
    await tracer.complete_trace(corr_id, success=True)
    return corr_id


async def test_example1_spans_whole(tracer: ExecutionTracer, memory: InMemorySpanExporter) -> None:
    corr = await run_example1(tracer)
    assert corr == CORR_1
    assert span_dicts(memory.get_finished_spans()) == [
        {
            "name": "hook quality-enforcer",
            "trace_id": "00000000000000000000000000000001",
            "span_id": "0000000000000001",
            "parent_span_id": ROOT_1,
            "kind": "INTERNAL",
            "start": T0 + 1 * MS - 125_500_000,
            "end": T0 + 1 * MS,
            "status": ("UNSET", None),
            "attributes": {
                "traceability.span.type": "hook",
                "openinference.span.kind": "GUARDRAIL",
                "traceability.hook.type": "Unknown",
                "traceability.hook.name": "quality-enforcer",
                "traceability.execution_order": 1,
                "traceability.success": True,
                "traceability.status": "completed",
                "traceability.quality.performed": True,
                "traceability.rag.performed": False,
                "gen_ai.tool.name": "Write",
                "session.id": SESSION,
                "traceability.quality.results": '{"violations_found":3,"corrections_applied":2,"quality_score":0.85}',
                "traceability.quality.score": 0.85,
                "traceability.quality.violations": 3,
                "traceability.quality.corrections": 2,
            },
            "events": [],
            "links": [],
        },
        {
            "name": "hook rag-intelligence",
            "trace_id": "00000000000000000000000000000001",
            "span_id": "0000000000000002",
            "parent_span_id": ROOT_1,
            "kind": "INTERNAL",
            "start": T0 + 2 * MS - 450 * MS,
            "end": T0 + 2 * MS,
            "status": ("UNSET", None),
            "attributes": {
                "traceability.span.type": "hook",
                "openinference.span.kind": "RETRIEVER",
                "traceability.hook.type": "Unknown",
                "traceability.hook.name": "rag-intelligence",
                "traceability.execution_order": 2,
                "traceability.success": True,
                "traceability.status": "completed",
                "traceability.quality.performed": False,
                "traceability.rag.performed": True,
                "gen_ai.tool.name": "Write",
                "session.id": SESSION,
                "traceability.rag.results": '{"matches":5,"confidence":0.92,"top_pattern":"async_db_writer_v2"}',
                "traceability.rag.matches": 5,
                "traceability.rag.confidence": 0.92,
                "traceability.rag.top_pattern": "async_db_writer_v2",
            },
            "events": [],
            "links": [],
        },
        {
            "name": "claude_code.turn",
            "trace_id": "00000000000000000000000000000001",
            "span_id": ROOT_1,
            "parent_span_id": None,
            "kind": "INTERNAL",
            "start": T0 + 2 * MS - 450 * MS,  # opened at T0, but covers the 450 ms hook that ended at +2 ms
            "end": T0 + 3 * MS,
            "status": ("UNSET", None),
            "attributes": {
                "traceability.span.type": "turn",
                "openinference.span.kind": "AGENT",
                "traceability.source": "user-prompt-submit",
                "traceability.trace.root_id": CORR_1,
                "traceability.trace.status": "completed",
                "traceability.prompt.text": "Implement authentication system",
                "traceability.prompt.length": 31,
                "session.id": SESSION,
                "traceability.tags": ["authentication", "backend"],
                "traceability.success": True,
            },
            "events": [],
            "links": [],
        },
    ]


async def test_no_child_starts_before_its_turn(tracer: ExecutionTracer, memory: InMemorySpanExporter) -> None:
    """Back-dated hooks move the turn's start back to the earliest of them; their durations are kept."""
    corr = await tracer.start_trace("test", "p", SESSION)  # T0
    await tracer.track_hook_execution(corr, "short", None, duration_ms=0.5)  # ends T0+1ms, inside
    await tracer.track_hook_execution(corr, "long", None, duration_ms=900)  # ends T0+2ms, from T0-898ms
    await tracer.track_hook_execution(corr, "longer", None, duration_ms=20)  # inside, after the long one
    await tracer.complete_trace(corr, success=True)  # T0+4ms
    *hooks, root = memory.get_finished_spans()
    assert root.name == sc.SPAN_NAME_TURN and root.start_time == T0 + 2 * MS - 900 * MS
    assert root.end_time == T0 + 4 * MS
    assert root.start_time is not None and root.end_time is not None
    for hook, duration_ms in zip(hooks, (0.5, 900, 20), strict=True):
        assert hook.start_time is not None and hook.end_time is not None
        assert root.start_time <= hook.start_time and hook.end_time <= root.end_time
        assert hook.end_time - hook.start_time == duration_ms * MS


async def test_failures_carry_status_and_exception_events(
    tracer: ExecutionTracer, memory: InMemorySpanExporter
) -> None:
    corr = await tracer.start_trace(
        "pre-tool-use", "fix it", SESSION, context={"cwd": "/w", "n": 1}, user_id="dev"
    )
    try:
        raise PermissionError("denied by policy")
    except PermissionError as exc:
        hook_error = exc
    await tracer.track_hook_execution(
        corr,
        "pre-tool-use-quality",
        "Edit",
        12.0,
        success=False,
        file_path="/w/app.py",
        input_data={"file_path": "/w/app.py"},
        output_data=["blocked"],
        modifications_made={"lines": 2},
        metadata={"attempt": 1},
        error=hook_error,
        quality_score=0.25,
    )
    await tracer.complete_trace(corr, success=False, error=RuntimeError("turn failed"))
    hook, root = span_dicts(memory.get_finished_spans())

    hook_event = hook.pop("events")
    assert [e["name"] for e in hook_event] == ["exception"]
    stack = hook_event[0]["attributes"].pop("exception.stacktrace")
    assert 'raise PermissionError("denied by policy")' in stack
    assert hook_event[0] == {
        "name": "exception",
        "time": T0 + MS,
        "attributes": {
            "exception.type": "PermissionError",
            "exception.message": "denied by policy",
            "exception.escaped": "False",
        },
    }
    assert hook == {
        "name": "hook pre-tool-use-quality",
        "trace_id": "00000000000000000000000000000001",
        "span_id": "0000000000000001",
        "parent_span_id": ROOT_1,
        "kind": "INTERNAL",
        "start": T0 + MS - 12 * MS,
        "end": T0 + MS,
        "status": ("ERROR", "denied by policy"),
        "attributes": {
            "traceability.span.type": "hook",
            "openinference.span.kind": "CHAIN",
            "traceability.hook.type": "PreToolUse",
            "traceability.hook.name": "pre-tool-use-quality",
            "traceability.execution_order": 1,
            "traceability.success": False,
            "traceability.status": "failed",
            "traceability.quality.performed": False,
            "traceability.rag.performed": False,
            "gen_ai.tool.name": "Edit",
            "session.id": SESSION,
            "code.file.path": "/w/app.py",
            "traceability.input": '{"file_path":"/w/app.py"}',
            "traceability.output": '["blocked"]',
            "traceability.modifications": '{"lines":2}',
            "traceability.metadata": '{"attempt":1}',
            "traceability.quality.score": 0.25,
            "error.type": "PermissionError",
        },
        "links": [],
    }

    root_events = root.pop("events")
    assert len(root_events) == 1
    assert root_events[0]["attributes"]["exception.type"] == "RuntimeError"
    assert root_events[0]["attributes"]["exception.message"] == "turn failed"
    assert root_events[0]["time"] == T0 + 2 * MS
    assert root["status"] == ("ERROR", "turn failed")
    assert root["attributes"] == {
        "traceability.span.type": "turn",
        "openinference.span.kind": "AGENT",
        "traceability.source": "pre-tool-use",
        "traceability.trace.root_id": CORR_1,
        "traceability.trace.status": "failed",
        "traceability.prompt.text": "fix it",
        "traceability.prompt.length": 6,
        "session.id": SESSION,
        "user.id": "dev",
        "traceability.context": '{"cwd":"/w","n":1}',
        "traceability.success": False,
        "error.type": "RuntimeError",
    }


async def test_trace_execution_completes_or_fails(
    tracer: ExecutionTracer, memory: InMemorySpanExporter
) -> None:
    async with tracer.trace_execution("user-prompt-submit", "ok", SESSION) as ctx:
        await ctx.track_hook("post-tool-use-metrics", "Bash", 3.0, metadata={"k": "v"})
        assert ctx.correlation_id == CORR_1
        assert ctx.get_elapsed_ms() >= 0
    with pytest.raises(KeyError):
        async with tracer.trace_execution("user-prompt-submit", "boom", SESSION):
            raise KeyError("missing")
    hook, ok_root, failed_root = span_dicts(memory.get_finished_spans())
    assert hook["attributes"][sc.HOOK_TYPE] == "PostToolUse"
    assert hook["attributes"][sc.METADATA] == '{"k":"v"}'
    assert hook["parent_span_id"] == ok_root["span_id"]
    assert (ok_root["attributes"][sc.TRACE_STATUS], ok_root["status"]) == ("completed", ("UNSET", None))
    assert failed_root["trace_id"] == f"{2:032x}"
    assert failed_root["attributes"][sc.TRACE_STATUS] == "failed"
    assert failed_root["status"] == ("ERROR", "'missing'")
    assert failed_root["events"][0]["attributes"]["exception.type"] == "KeyError"


@pytest.mark.parametrize(
    ("hook_name", "expected"),
    [
        ("pre-tool-use-quality", "PreToolUse"),
        ("PreToolUse", "PreToolUse"),
        ("post_tool_use_metrics", "PostToolUse"),
        ("PostToolUseFailure", "PostToolUse"),
        ("user-prompt-submit-enhanced", "UserPromptSubmit"),
        ("session-start", "SessionStart"),
        ("SessionEnd", "SessionEnd"),
        ("stop-hook", "Stop"),
        ("quality-enforcer", "Unknown"),
    ],
)
async def test_hook_type_inferred_from_name(
    tracer: ExecutionTracer, memory: InMemorySpanExporter, hook_name: str, expected: str
) -> None:
    corr = await tracer.start_trace("s", "p", SESSION)
    await tracer.track_hook_execution(corr, hook_name, None, 1.0)
    await tracer.track_hook_execution(corr, hook_name, None, 1.0, hook_type="Notification")
    inferred, explicit = span_dicts(memory.get_finished_spans())
    assert inferred["attributes"][sc.HOOK_TYPE] == expected
    assert explicit["attributes"][sc.HOOK_TYPE] == "Notification"


async def test_correlation_id_argument_is_the_trace_id(
    tracer: ExecutionTracer, memory: InMemorySpanExporter
) -> None:
    given = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    corr = await tracer.start_trace("s", "p", SESSION, correlation_id=given)
    assert corr == given.lower()
    await tracer.track_hook_execution(corr, "h", "Read", 1.0)
    await tracer.complete_trace(given, success=True)  # any UUID spelling finds the trace
    hook, root = span_dicts(memory.get_finished_spans())
    trace_hex = "6f9619ff8b86d011b42d00c04fc964ff"
    assert (root["trace_id"], root["span_id"], root["parent_span_id"]) == (
        trace_hex, f"{turn_span_id(int(trace_hex, 16)):016x}", None,
    )  # fmt: skip
    assert (hook["trace_id"], hook["parent_span_id"]) == (trace_hex, root["span_id"])
    assert root["attributes"][sc.ROOT_ID] == corr


async def test_environment_correlation_is_honoured(
    tracer: ExecutionTracer, memory: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORRELATION_ID", "11111111-1111-4111-8111-111111111111")
    monkeypatch.setenv("ROOT_ID", "22222222-2222-4222-8222-222222222222")
    monkeypatch.setenv("PARENT_ID", "33333333-3333-4333-8333-333333333333")
    corr = await tracer.start_trace("s", "p", SESSION)
    assert corr == "11111111-1111-4111-8111-111111111111"
    # an explicit argument wins over the environment
    explicit = await tracer.start_trace("s", "p", SESSION, root_id="44444444-4444-4444-8444-444444444444",
                                        correlation_id="55555555-5555-4555-8555-555555555555")  # fmt: skip
    await tracer.complete_trace(corr, True)
    await tracer.complete_trace(explicit, True)
    env_root, arg_root = span_dicts(memory.get_finished_spans())
    assert env_root["trace_id"] == "11111111111141118111111111111111"
    assert env_root["attributes"][sc.ROOT_ID] == "22222222-2222-4222-8222-222222222222"
    assert env_root["attributes"][sc.PARENT_ID] == "33333333-3333-4333-8333-333333333333"
    assert arg_root["trace_id"] == "55555555555545558555555555555555"
    assert arg_root["attributes"][sc.ROOT_ID] == "44444444-4444-4444-8444-444444444444"


async def test_traceparent_same_trace_becomes_the_parent(
    tracer: ExecutionTracer, memory: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACEPARENT", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    corr = await tracer.start_trace("s", "p", SESSION)
    assert corr == "0af76519-16cd-43dd-8448-eb211c80319c"
    await tracer.complete_trace(corr, True)
    (root,) = span_dicts(memory.get_finished_spans())
    assert (root["trace_id"], root["parent_span_id"], root["links"]) == (
        "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", [],
    )  # fmt: skip
    assert root["span_id"] == f"{turn_span_id(0x0AF7651916CD43DD8448EB211C80319C):016x}"


async def test_traceparent_of_another_trace_is_linked_and_is_the_parent_id(
    tracer: ExecutionTracer, memory: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACEPARENT", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
    corr = await tracer.start_trace("s", "p", SESSION, correlation_id="11111111-1111-4111-8111-111111111111")
    await tracer.complete_trace(corr, True)
    (root,) = span_dicts(memory.get_finished_spans())
    assert root["parent_span_id"] is None
    assert root["links"] == [("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")]
    assert root["attributes"][sc.PARENT_ID] == "0af76519-16cd-43dd-8448-eb211c80319c"


async def test_invalid_environment_values_are_ignored(
    tracer: ExecutionTracer, memory: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORRELATION_ID", "not-a-uuid")
    monkeypatch.setenv("TRACEPARENT", "garbage")
    corr = await tracer.start_trace("s", "p", SESSION)
    assert corr == CORR_1  # the id generator's, as if nothing were set
    await tracer.complete_trace(corr, True)
    (root,) = span_dicts(memory.get_finished_spans())
    assert root["parent_span_id"] is None and root["links"] == []


async def test_hooks_of_a_trace_started_elsewhere_nest_under_its_turn(
    tracer: ExecutionTracer, memory: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    foreign = "0af76519-16cd-43dd-8448-eb211c80319c"
    await tracer.track_hook_execution(foreign, "post-tool-use", "Bash", 5.0, session_id="s-raw")
    await tracer.track_hook_execution(foreign, "post-tool-use", "Bash", 5.0)
    monkeypatch.setenv("TRACEPARENT", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    await tracer.track_hook_execution(foreign, "post-tool-use", "Bash", 5.0)
    first, second, third = span_dicts(memory.get_finished_spans())
    turn = f"{turn_span_id(0x0AF7651916CD43DD8448EB211C80319C):016x}"
    assert [s["trace_id"] for s in (first, second, third)] == ["0af7651916cd43dd8448eb211c80319c"] * 3
    assert [s["parent_span_id"] for s in (first, second, third)] == [turn, turn, "b7ad6b7169203331"]
    assert [s["attributes"][sc.EXECUTION_ORDER] for s in (first, second, third)] == [1, 2, 3]
    assert first["attributes"][sc.SESSION_ID] == "s-raw"
    assert sc.SESSION_ID not in second["attributes"]


async def test_the_hosts_current_span_never_becomes_the_parent(
    tracer: ExecutionTracer, memory: InMemorySpanExporter
) -> None:
    host_provider = TracerProvider()
    with host_provider.get_tracer("host").start_as_current_span("host request"):
        corr = await tracer.start_trace("s", "p", SESSION)
        await tracer.complete_trace(corr, True)
    (root,) = span_dicts(memory.get_finished_spans())
    assert (root["trace_id"], root["parent_span_id"]) == (f"{1:032x}", None)


async def test_bad_inputs_never_raise_and_are_repaired(
    tracer: ExecutionTracer, memory: InMemorySpanExporter
) -> None:
    corr = await tracer.start_trace("s", "bad \ud800 text", SESSION, context={"obj": object, "set": {1}})
    for duration in (math.nan, -5.0, math.inf):
        await tracer.track_hook_execution(corr, "h", "Read", duration)
    await tracer.track_hook_execution("not-a-uuid", "h", "Read", 1.0)  # logged, skipped
    await tracer.complete_trace("not-a-uuid", True)
    await tracer.complete_trace(corr, True)
    await tracer.complete_trace(corr, True)  # a second completion is a logged no-op
    spans = span_dicts(memory.get_finished_spans())
    assert [s["end"] - s["start"] for s in spans[:3]] == [0, 0, 0]
    root = spans[3]
    assert root["attributes"][sc.PROMPT_TEXT] == "bad ? text"
    assert json.loads(str(root["attributes"][sc.CONTEXT])) == {"obj": "<class 'object'>", "set": "{1}"}
    assert len(spans) == 4


async def test_an_exporter_that_raises_never_reaches_the_caller() -> None:
    class Exploding(InMemorySpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            raise OSError("disk on fire")

    tracer = ExecutionTracer(span_exporter=Exploding(), id_generator=IncrementalIds(), clock=FixedClock())
    corr = await run_example1(tracer)
    assert corr == CORR_1
    assert await tracer.force_flush() is True
    health = await tracer.health_check()
    assert not health
    assert (health.last_export_ok, health.failed_spans, health.exported_spans) == (False, 3, 0)
    assert health.last_error == "OSError: disk on fire"
    await tracer.shutdown()


async def test_shutdown_ends_open_traces_as_abandoned_and_is_idempotent(
    tracer: ExecutionTracer, memory: InMemorySpanExporter
) -> None:
    corr = await tracer.start_trace("s", "p", SESSION)
    assert (await tracer.health_check()).open_traces == 1
    await tracer.shutdown()
    await tracer.shutdown()
    await tracer.close()
    (root,) = span_dicts(memory.get_finished_spans())
    assert root["attributes"][sc.TRACE_STATUS] == "abandoned"
    assert root["attributes"][sc.SUCCESS] is False
    # after shutdown: calls return, nothing is recorded, the caller still gets an id
    later = await tracer.start_trace("s", "p", SESSION)
    assert later == f"00000000-0000-0000-0000-{2:012x}"
    await tracer.track_hook_execution(corr, "h", "Read", 1.0)
    await tracer.complete_trace(later, True)
    assert len(memory.get_finished_spans()) == 1
    health = await tracer.health_check()
    assert (health.healthy, health.shut_down, health.open_traces) == (False, True, 0)


def test_resource_settings_argument_env_default(monkeypatch: pytest.MonkeyPatch) -> None:
    default = build_resource()
    assert default.attributes[sc.SERVICE_NAME] == sc.DEFAULT_SERVICE_NAME
    assert default.attributes[sc.SERVICE_VERSION] == version("pattern-traceability")
    assert default.attributes[sc.HOST_NAME]
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.version=7.0,deployment.environment=ci")
    from_env = build_resource()
    assert (from_env.attributes[sc.SERVICE_NAME], from_env.attributes[sc.SERVICE_VERSION]) == (
        "from-env",
        "7.0",
    )
    assert from_env.attributes["deployment.environment"] == "ci"
    explicit = build_resource("from-arg", "1.2.3")
    assert (explicit.attributes[sc.SERVICE_NAME], explicit.attributes[sc.SERVICE_VERSION]) == (
        "from-arg",
        "1.2.3",
    )


async def test_spans_carry_the_resource(memory: InMemorySpanExporter) -> None:
    tracer = ExecutionTracer(
        span_processor=SimpleSpanProcessor(memory), service_name="svc", service_version="2.0"
    )
    corr = await tracer.start_trace("s", "p", SESSION)
    await tracer.complete_trace(corr, True)
    await tracer.shutdown()
    (span,) = memory.get_finished_spans()
    assert span.resource.attributes[sc.SERVICE_NAME] == "svc"
    assert span.resource.attributes[sc.SERVICE_VERSION] == "2.0"
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == sc.INSTRUMENTATION_SCOPE


async def test_a_failing_id_generator_still_yields_a_correlation_id(memory: InMemorySpanExporter) -> None:
    class Broken(IncrementalIds):
        def generate_trace_id(self) -> int:
            raise RuntimeError("no entropy")

    tracer = ExecutionTracer(span_processor=SimpleSpanProcessor(memory), id_generator=Broken())
    corr = await tracer.start_trace("s", "p", SESSION)
    assert str(uuid.UUID(corr)) == corr
    await tracer.track_hook_execution(corr, "h", "Read", 1.0)  # a foreign trace now: still recorded
    await tracer.shutdown()
    (hook,) = span_dicts(memory.get_finished_spans())
    assert hook["trace_id"] == corr.replace("-", "")
