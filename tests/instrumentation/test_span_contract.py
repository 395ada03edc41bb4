"""Every producer's spans against the span contract (instrumentation/span_contract.py).

The producers: the hook's lean path (the real hook process on the recorded Claude Code sessions, plus
the quality enforcer with a RAG query over real HTTP; the spool's OTLP/JSON decoded with the OTel
protos), its degraded span, and ``ExecutionTracer`` both in memory and through the SDK's spool exporter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.hooks import SEQUENCES, HookEnv, load_sequence, parse_request
from tests.support.otlp_checks import flatten
from tests.support.otlp_checks import read_spool as read_sdk_spool
from tests.support.rag_server import RagServer
from traceability.hooks import degraded_span
from traceability.instrumentation import semconv as sc
from traceability.instrumentation import span_contract
from traceability.instrumentation.otlp_json import encode_request
from traceability.instrumentation.spool_exporter import SpoolSpanExporter
from traceability.instrumentation.tracer import ExecutionTracer

Span = tuple[str, dict[str, Any], bool]  # name, attributes, has a parent
T0 = 1_767_000_000_000_000_000


def _hook_spans(tmp_path: Path) -> list[Span]:
    hook = HookEnv(tmp_path / "hook")
    for sequence in sorted(SEQUENCES.glob("*.jsonl")):
        hook.replay(load_sequence(sequence.name))
    with RagServer(body={"results": [{"similarity": 0.9, "metadata": {"title": "p1"}}]}) as rag:
        hook.config.write_text(
            "enforcement:\n  enabled: true\n  mode: warn\n  performance_budget_seconds: 20\n"
            f"rag:\n  enabled: true\n  base_url: {rag.url}\n  timeout_seconds: 2\n"
        )
        target = tmp_path / "work" / "module.py"
        target.parent.mkdir()
        ids = {"session_id": "c0000000-0000-4000-8000-00000000c001", "cwd": str(target.parent)}
        write = {"tool_name": "Write", "tool_use_id": "toolu_c1",
                 "tool_input": {"file_path": str(target), "content": "import os\n"}}  # fmt: skip
        hook.replay([{**ids, "hook_event_name": "UserPromptSubmit", "prompt": "write it"}])
        answer = hook.run({**ids, **write, "hook_event_name": "PreToolUse"})  # the enforcer's finding
        assert answer.returncode == 0 and b"F401" in answer.stdout
        hook.replay(
            [
                {**ids, **write, "hook_event_name": "PostToolUse", "tool_response": {"type": "create"}},
                {**ids, "hook_event_name": "Stop"},
            ]
        )
        assert rag.requests, "the enforcer did not query the RAG server"
    spans = [(s.name, s.attributes, bool(s.parent_span_id)) for s in hook.spans()]
    minimal = degraded_span.minimal_span(
        {"hook_event_name": "PreToolUse", "session_id": "s", "tool_name": "Bash", "tool_use_id": "t"},
        sc.DEGRADED_DEADLINE, T0, T0 + 1,
    )  # fmt: skip
    request = parse_request(encode_request([minimal], {sc.SERVICE_NAME: "x"}, sc.INSTRUMENTATION_SCOPE, "0"))
    (decoded,) = request.resource_spans[0].scope_spans[0].spans
    assert decoded.name == minimal.name
    spans.append((minimal.name, minimal.attributes, bool(decoded.parent_span_id)))
    return spans


async def _drive(tracer: ExecutionTracer) -> None:
    """Every ExecutionTracer call shape: plain, quality, RAG, failed hook; completed and failed turns."""
    corr = await tracer.start_trace("user-prompt-submit", "do it", "sess-1", context={"a": 1}, tags=["t"])
    await tracer.track_hook_execution(
        corr, "pre-tool-use", "Edit", 3.0, file_path="/w/a.py", input_data={"x": 1}
    )
    await tracer.track_hook_execution(
        corr, "quality-enforcer", "Write", 5.0, quality_check_performed=True,
        quality_results={"quality_score": 0.5, "violations_found": 1, "decision": "allow"},
    )  # fmt: skip
    await tracer.track_hook_execution(
        corr, "rag-intelligence", None, 2.0, rag_query_performed=True, rag_results={"matches": 2}
    )
    await tracer.track_hook_execution(corr, "post-tool-use", "Bash", 1.0, success=False, error=OSError("no"))
    await tracer.complete_trace(corr, success=True)
    failed = await tracer.start_trace("cli", "fail", "sess-1", user_id="u1", parent_id=corr)
    await tracer.complete_trace(failed, success=False, error=RuntimeError("boom"))


async def _tracer_spans(tmp_path: Path) -> tuple[list[Span], list[Span]]:
    memory = InMemorySpanExporter()
    in_memory = ExecutionTracer(span_processor=SimpleSpanProcessor(memory))
    await _drive(in_memory)
    await in_memory.shutdown()
    sdk = [(s.name, dict(s.attributes or {}), s.parent is not None) for s in memory.get_finished_spans()]
    spool = tmp_path / "sdk-spool"
    spooled = ExecutionTracer(span_processor=SimpleSpanProcessor(SpoolSpanExporter(str(spool))))
    await _drive(spooled)
    await spooled.shutdown()
    exported = [
        (s["name"], s["attributes"], bool(s["parent_span_id"])) for s in flatten(read_sdk_spool(spool))
    ]
    return sdk, exported


def _types(spans: Iterable[Span]) -> set[str]:
    return {t.key for name, attrs, _ in spans if (t := span_contract.span_type_of(name, attrs)) is not None}


async def test_every_producer_keeps_the_span_contract(tmp_path: Path) -> None:
    hook = _hook_spans(tmp_path)
    sdk, exported = await _tracer_spans(tmp_path)
    # each producer gives every span type it is meant to (so the check below covers them)
    assert _types(hook) == {"turn", "session", "tool", "subagent", "hook", "rag"}
    assert _types(sdk) == _types(exported) == {"turn", "hook"}
    assert len(sdk) == len(exported) == 6  # 4 hooks, 2 turns
    kinds = {
        attrs[sc.OPENINFERENCE_SPAN_KIND] for _, attrs, _ in hook + sdk if sc.OPENINFERENCE_SPAN_KIND in attrs
    }
    assert kinds == {"AGENT", "TOOL", "CHAIN", "GUARDRAIL", "RETRIEVER"}
    problems = {
        producer: [p for name, attrs, parent in spans for p in span_contract.violations(name, attrs, parent)]
        for producer, spans in (("hook", hook), ("ExecutionTracer", sdk), ("spool exporter", exported))
    }
    assert problems == {"hook": [], "ExecutionTracer": [], "spool exporter": []}, json.dumps(
        problems, indent=1
    )


def test_the_contract_check_names_what_is_wrong() -> None:
    turn = {
        sc.SPAN_TYPE: sc.SPAN_TYPE_TURN, sc.OPENINFERENCE_SPAN_KIND: sc.OPENINFERENCE_KIND_CHAIN,
        sc.SOURCE: "cli", sc.ROOT_ID: "r", sc.SUCCESS: True, "traceability.made_up": 1,
    }  # fmt: skip
    assert span_contract.violations(sc.SPAN_NAME_TURN, turn, has_parent=False) == [
        "turn span 'claude_code.turn': required traceability.trace.status missing",
        "turn span 'claude_code.turn': unknown attribute traceability.made_up",
        "turn span 'claude_code.turn': openinference.span.kind='CHAIN', not one of ['AGENT']",
    ]
    assert span_contract.violations("execute_tool Bash", {sc.SPAN_TYPE: "nope"}, has_parent=True) == [
        "'execute_tool Bash': no span type of the contract (traceability.span.type='nope')"
    ]
    session = {sc.SOURCE: "s", sc.EXECUTION_ORDER: 0, sc.TAGS: [], sc.CONTEXT: "{}", sc.TRACE_STATUS: "completed",
               sc.SUCCESS: True}  # fmt: skip
    assert span_contract.violations(sc.SPAN_NAME_SESSION, session, has_parent=False) == []
    assert span_contract.violations(sc.SPAN_NAME_SESSION, session, has_parent=True) == [
        "session span 'claude_code.session': has a parent"
    ]
    tool = {sc.SPAN_TYPE: sc.SPAN_TYPE_TOOL, sc.GEN_AI_TOOL_NAME: "Bash"}
    assert span_contract.violations("hook Bash", tool, has_parent=False)[:2] == [
        "tool span 'hook Bash': the name does not start with 'execute_tool '",
        "tool span 'hook Bash': has no parent",
    ]
