"""Decode what the tracer sent (spool OTLP/JSON or OTLP protobuf) and check examples/example1_basic_trace.py's trace."""

from __future__ import annotations

import base64
import json
import runpy
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from traceability.instrumentation.ids import turn_span_id

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE1 = REPO_ROOT / "examples" / "example1_basic_trace.py"


async def run_example1_unchanged() -> None:
    """Run the example file's own ``main()`` (as the file has it) in this process."""
    await runpy.run_path(str(EXAMPLE1), run_name="example1")["main"]()


def _base64_ids(obj: dict[str, Any]) -> None:
    for key in ("traceId", "spanId", "parentSpanId"):
        if obj.get(key):
            obj[key] = base64.b64encode(bytes.fromhex(obj[key])).decode()


def parse_otlp_json_line(line: bytes) -> ExportTraceServiceRequest:
    """OTLP/JSON (hex ids) -> protobuf, strictly (unknown fields are an error)."""
    obj = json.loads(line)
    for resource_spans in obj.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                _base64_ids(span)
                for link in span.get("links", ()):
                    _base64_ids(link)
    return json_format.ParseDict(obj, ExportTraceServiceRequest())


def read_spool(spool_dir: Path) -> list[ExportTraceServiceRequest]:
    files = sorted(spool_dir.iterdir())
    assert files, f"no spool files in {spool_dir}"
    assert not [f.name for f in files if f.name.startswith(".") or f.suffix != ".json"], files
    requests: list[ExportTraceServiceRequest] = []
    for path in files:
        data = path.read_bytes()
        assert data.endswith(b"\n")
        requests.extend(parse_otlp_json_line(line) for line in data.splitlines())
    return requests


def any_value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    return getattr(value, which) if which else None


def flatten(requests: Iterable[ExportTraceServiceRequest]) -> list[dict[str, Any]]:
    """Every span as a dict (hex ids, python attribute values), with its resource attributes."""
    spans = []
    for request in requests:
        for resource_spans in request.resource_spans:
            resource = {kv.key: any_value(kv.value) for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex() or None,
                            "kind": span.kind,
                            "start": span.start_time_unix_nano,
                            "end": span.end_time_unix_nano,
                            "status_code": span.status.code,
                            "attributes": {kv.key: any_value(kv.value) for kv in span.attributes},
                            "events": list(span.events),
                            "scope": scope_spans.scope.name,
                            "resource": resource,
                        }
                    )
    return spans


def check_example1(requests: Iterable[ExportTraceServiceRequest]) -> str:
    """Assert the three spans of Example 1, every attribute; return the trace id (hex)."""
    spans = {s["name"]: s for s in flatten(requests)}
    assert sorted(spans) == ["claude_code.turn", "hook quality-enforcer", "hook rag-intelligence"]
    root, quality, rag = (
        spans["claude_code.turn"],
        spans["hook quality-enforcer"],
        spans["hook rag-intelligence"],
    )
    trace_hex = root["trace_id"]
    corr = f"{trace_hex[:8]}-{trace_hex[8:12]}-{trace_hex[12:16]}-{trace_hex[16:20]}-{trace_hex[20:]}"
    session = root["attributes"]["session.id"]
    assert len(session) == 36
    assert root["attributes"] == {
        "traceability.span.type": "turn",
        "openinference.span.kind": "AGENT",
        "traceability.source": "user-prompt-submit",
        "traceability.trace.root_id": corr,
        "traceability.trace.status": "completed",
        "traceability.prompt.text": "Implement authentication system",
        "traceability.prompt.length": 31,
        "session.id": session,
        "traceability.tags": ["authentication", "backend"],
        "traceability.success": True,
    }
    assert (root["span_id"], root["parent_span_id"]) == (f"{turn_span_id(int(trace_hex, 16)):016x}", None)
    assert quality["attributes"] == {
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
        "session.id": session,
        "traceability.quality.results": '{"violations_found":3,"corrections_applied":2,"quality_score":0.85}',
        "traceability.quality.score": 0.85,
        "traceability.quality.violations": 3,
        "traceability.quality.corrections": 2,
    }
    assert rag["attributes"] == {
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
        "session.id": session,
        "traceability.rag.results": '{"matches":5,"confidence":0.92,"top_pattern":"async_db_writer_v2"}',
        "traceability.rag.matches": 5,
        "traceability.rag.confidence": 0.92,
        "traceability.rag.top_pattern": "async_db_writer_v2",
    }
    for hook, duration_ns in ((quality, 125_500_000), (rag, 450_000_000)):
        assert (hook["trace_id"], hook["parent_span_id"]) == (trace_hex, root["span_id"])
        assert hook["end"] - hook["start"] == duration_ns
        assert root["start"] <= hook["start"] and hook["end"] <= root["end"]  # inside its turn
    for span in (root, quality, rag):
        assert (span["kind"], span["status_code"], span["events"], span["scope"]) == (
            1,
            0,
            [],
            "traceability",
        )
        assert span["resource"]["service.name"] == "claude-code-hooks"
        assert span["resource"]["service.version"] == version("pattern-traceability")
        assert span["resource"]["host.name"]
    return trace_hex
