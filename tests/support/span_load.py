"""Deterministic OTLP trace requests in volume, and the rows they must become.

Shared by the reliability tests and ``bench/soak``. Each request holds whole turns: one root span
(``traceability.span.type = turn``) and ``hooks`` child hook spans. Ids are derived from a run tag
and a turn number, so a sender knows exactly which rows must exist afterwards, and a replay of any
request maps to the same rows.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from traceability.exporter.codec.traces import attribute_kv
from traceability.instrumentation import semconv as sc

MS = 1_000_000


@dataclass(frozen=True)
class TurnIds:
    trace_hex: str
    root_span_hex: str

    @property
    def trace_uuid(self) -> uuid.UUID:
        return uuid.UUID(self.trace_hex)


def turn_ids(run: int, turn: int) -> TurnIds:
    """Ids of turn ``turn`` of run ``run`` (run < 2**32, turn < 2**48)."""
    return TurnIds(f"{run:08x}{0xA5A5:04x}{turn:020x}", f"{turn % (1 << 44) + 1:016x}")


def child_span_hex(turn: int, index: int) -> str:
    return f"{(turn % (1 << 40)) + 1:010x}{index + 1:06x}"


def hook_attributes(turn: int, index: int) -> dict[str, str | int | float | bool]:
    """The attributes of child ``index`` of ``turn``: what the sample comparison expects in the row."""
    return {
        sc.SPAN_TYPE: sc.SPAN_TYPE_HOOK,
        sc.HOOK_TYPE: "PostToolUse",
        sc.HOOK_NAME: f"hook-{index % 3}",
        sc.EXECUTION_ORDER: index + 1,
        sc.GEN_AI_TOOL_NAME: ("Write", "Edit", "Bash", "Read")[index % 4],
        sc.GEN_AI_TOOL_CALL_ID: f"toolu_{turn:08d}_{index:03d}",
        sc.CODE_FILE_PATH: f"/work/app/pkg{turn % 7}/mod{index}.py",
        sc.SESSION_ID: f"session-{turn % 11}",
        sc.QUALITY_SCORE: round(0.5 + (index % 5) / 10, 2),
        sc.DURATION_MS: float(index * 3 + 1),
        sc.INPUT_DATA: json.dumps(
            {"file_path": f"mod{index}.py", "content": f"def f{index}():\n    return {turn}\n"}
        ),
    }


def add_turn(
    request: ExportTraceServiceRequest, run: int, turn: int, hooks: int, start_ns: int | None = None
) -> int:
    """Append one turn (root + ``hooks`` children) to ``request``; return the spans added."""
    start = start_ns if start_ns is not None else time.time_ns()
    ids = turn_ids(run, turn)
    if not request.resource_spans:
        rs = request.resource_spans.add()
        rs.resource.attributes.extend(
            [attribute_kv(sc.SERVICE_NAME, "soak"), attribute_kv(sc.SERVICE_VERSION, "1")]
        )
        rs.scope_spans.add().scope.name = sc.INSTRUMENTATION_SCOPE
    spans = request.resource_spans[0].scope_spans[0].spans
    root = Span(
        trace_id=bytes.fromhex(ids.trace_hex),
        span_id=bytes.fromhex(ids.root_span_hex),
        name=sc.SPAN_NAME_TURN,
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=start + (hooks + 1) * MS,
    )
    root.attributes.extend(
        [
            attribute_kv(sc.SPAN_TYPE, sc.SPAN_TYPE_TURN),
            attribute_kv(sc.SESSION_ID, f"session-{turn % 11}"),
            attribute_kv(sc.SOURCE, "soak"),
            attribute_kv(sc.PROMPT_TEXT, f"turn {turn} of run {run}"),
        ]
    )
    spans.append(root)
    for i in range(hooks):
        child = Span(
            trace_id=bytes.fromhex(ids.trace_hex),
            span_id=bytes.fromhex(child_span_hex(turn, i)),
            parent_span_id=bytes.fromhex(ids.root_span_hex),
            name=sc.hook_span_name("PostToolUse"),
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=start + (i + 1) * MS,
            end_time_unix_nano=start + (i + 1) * MS + MS // 2,
        )
        child.attributes.extend(attribute_kv(k, v) for k, v in hook_attributes(turn, i).items())
        spans.append(child)
    return hooks + 1


def request_bytes(run: int, turns: range, hooks: int, start_ns: int | None = None) -> tuple[bytes, int]:
    """One protobuf body holding ``turns``; returns (body, spans)."""
    request = ExportTraceServiceRequest()
    count = sum(add_turn(request, run, t, hooks, start_ns) for t in turns)
    return request.SerializeToString(), count


def expected_hook_row(run: int, turn: int, index: int) -> dict[str, object]:
    """The hook_executions columns child ``index`` of ``turn`` must produce."""
    attrs = hook_attributes(turn, index)
    return {
        "trace_id": turn_ids(run, turn).trace_uuid,
        "span_id": child_span_hex(turn, index),
        "parent_span_id": turn_ids(run, turn).root_span_hex,
        "hook_type": attrs[sc.HOOK_TYPE],
        "hook_name": attrs[sc.HOOK_NAME],
        "execution_order": attrs[sc.EXECUTION_ORDER],
        "tool_name": attrs[sc.GEN_AI_TOOL_NAME],
        "tool_use_id": attrs[sc.GEN_AI_TOOL_CALL_ID],
        "file_path": attrs[sc.CODE_FILE_PATH],
        "session_id": attrs[sc.SESSION_ID],
        "quality_score": attrs[sc.QUALITY_SCORE],
        "tool_duration_ms": attrs[sc.DURATION_MS],
        "status": "completed",
        "success": True,
        "span_type": "hook",
        "service_name": "soak",
    }


HOOK_SAMPLE_COLUMNS = tuple(expected_hook_row(0, 0, 0))
