"""Spans built with the real OTel SDK, with fixed ids and times, for exporter and collector tests."""

from __future__ import annotations

import json
from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

from traceability.instrumentation import semconv as sc

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z in ns
MS = 1_000_000
SESSION = "8bbcceab-0b3e-4e24-98c9-ec146b1ca8c6"


class FixedIds(IdGenerator):
    """Trace id and a counter of span ids, so tests can name rows exactly."""

    def __init__(self, trace_id: int) -> None:
        self.trace_id = trace_id
        self.next_span = 0x1000

    def generate_span_id(self) -> int:
        self.next_span += 1
        return self.next_span

    def generate_trace_id(self) -> int:
        return self.trace_id


def make_turn(trace_id: int, hooks: int = 3, *, failed_hook: int | None = None) -> Sequence[ReadableSpan]:
    """A turn root span and ``hooks`` hook spans (one per tool use), ended; ordered children first."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({sc.SERVICE_NAME: "claude-code-hooks", sc.SERVICE_VERSION: "test"}),
        id_generator=FixedIds(trace_id),
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer(sc.INSTRUMENTATION_SCOPE)
    root = tracer.start_span(
        sc.SPAN_NAME_TURN,
        start_time=T0,
        attributes={
            sc.SPAN_TYPE: sc.SPAN_TYPE_TURN,
            sc.SESSION_ID: SESSION,
            sc.SOURCE: "user-prompt-submit",
            sc.PROMPT_TEXT: "Implement authentication system",
            sc.TAGS: ["authentication", "backend"],
            sc.CONTEXT: json.dumps({"cwd": "/work/app"}),
            sc.USER_ID: "dev",
        },
    )
    ctx = set_span_in_context(root)
    for i in range(hooks):
        failed = i == failed_hook
        span = tracer.start_span(
            sc.hook_span_name("PreToolUse"),
            context=ctx,
            kind=SpanKind.INTERNAL,
            start_time=T0 + (i + 1) * 10 * MS,
            attributes={
                sc.SPAN_TYPE: sc.SPAN_TYPE_HOOK,
                sc.HOOK_TYPE: "PreToolUse",
                sc.HOOK_NAME: "quality-enforcer",
                sc.EXECUTION_ORDER: i + 1,
                sc.GEN_AI_TOOL_NAME: "Write",
                sc.GEN_AI_TOOL_CALL_ID: f"toolu_{i:04d}",
                sc.CODE_FILE_PATH: f"/work/app/m{i}.py",
                sc.SESSION_ID: SESSION,
                sc.QUALITY_PERFORMED: True,
                sc.QUALITY_RESULTS: json.dumps({"violations_found": i, "quality_score": 0.5 + i / 10}),
                sc.QUALITY_SCORE: 0.5 + i / 10,
                sc.INPUT_DATA: json.dumps({"content": "x = 1\n", "nul": "a\x00b"}),
            },
        )
        if failed:
            span.record_exception(ValueError("boom"), timestamp=T0 + (i + 1) * 10 * MS + MS)
            span.set_status(Status(StatusCode.ERROR, "boom"))
        span.end(end_time=T0 + (i + 1) * 10 * MS + 5 * MS)
    root.end(end_time=T0 + 1000 * MS)
    provider.shutdown()
    spans = memory.get_finished_spans()
    return list(spans)
