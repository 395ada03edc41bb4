"""Run the real hook process on payloads and read back what it spooled, decoded with the OTel protos."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from traceability.hooks.install import entry_script

SEQUENCES = Path(__file__).resolve().parent.parent / "fixtures" / "claude-code-hooks" / "sequences"


@dataclass
class HookEnv:
    """An isolated home, state dir, spool and logs for hook runs."""

    root: Path
    extra: dict[str, str] = field(default_factory=dict)
    entry: Path | None = None  # another copy of hooks/fast_entry.py (default: this checkout's)

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    def env(self) -> dict[str, str]:
        return {
            "HOME": str(self.root / "home"),
            "PATH": "/usr/bin:/bin",
            "TRACEABILITY_STATE_DIR": str(self.state),
            "TRACEABILITY_SPOOL_DIR": str(self.spool),
            "TRACEABILITY_HOOK_LOG_DIR": str(self.logs),
            "TRACEABILITY_HOOK_CONFIG": str(self.config),
            **self.extra,
        }

    def command(self) -> list[str]:
        return [sys.executable, "-I", "-S", str(self.entry or entry_script())]

    def run(self, event: dict[str, Any] | bytes) -> subprocess.CompletedProcess[bytes]:
        data = event if isinstance(event, bytes) else json.dumps(event).encode()
        return subprocess.run(self.command(), input=data, capture_output=True, env=self.env(), timeout=60)

    def spawn(self, event: dict[str, Any]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            self.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env(),
        )
        assert process.stdin is not None
        process.stdin.write(json.dumps(event).encode())
        process.stdin.close()
        return process

    def replay(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            result = self.run(event)
            assert result.returncode == 0, result.stderr
            assert result.stdout == b"", result.stdout
            assert result.stderr == b"", result.stderr
        self.assert_no_errors()

    def error_log(self) -> str:
        path = self.logs / "quality_enforcer.log"
        return path.read_text() if path.exists() else ""

    def assert_no_errors(self) -> None:
        assert "ERROR" not in self.error_log(), self.error_log()

    def spans(self) -> list[SpanView]:
        return read_spool(self.spool)


def load_sequence(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (SEQUENCES / name).read_text().splitlines() if line.strip()]


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, which) if which else None


@dataclass
class SpanView:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start: int
    end: int
    attributes: dict[str, Any]
    status_code: int
    status_message: str
    resource: dict[str, Any]

    def json_attr(self, key: str) -> Any:
        return json.loads(self.attributes[key])


def hex_ids_to_base64(obj: Any) -> Any:
    """OTLP/JSON ids are hex; protobuf's JSON mapping wants base64."""
    if isinstance(obj, dict):
        return {
            k: (base64.b64encode(bytes.fromhex(v)).decode() if k in ("traceId", "spanId", "parentSpanId") and v else hex_ids_to_base64(v))
            for k, v in obj.items()
        }  # fmt: skip
    if isinstance(obj, list):
        return [hex_ids_to_base64(v) for v in obj]
    return obj


def parse_request(line: bytes) -> ExportTraceServiceRequest:
    return json_format.ParseDict(hex_ids_to_base64(json.loads(line)), ExportTraceServiceRequest())


def iter_requests(spool: Path) -> Iterator[ExportTraceServiceRequest]:
    for path in sorted(spool.glob("*.json")):
        for line in path.read_bytes().splitlines():
            if line.strip():
                yield parse_request(line)


def read_spool(spool: Path) -> list[SpanView]:
    spans = []
    for request in iter_requests(spool):
        for resource_spans in request.resource_spans:
            resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        SpanView(
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            name=span.name,
                            start=span.start_time_unix_nano,
                            end=span.end_time_unix_nano,
                            attributes={kv.key: _value(kv.value) for kv in span.attributes},
                            status_code=span.status.code,
                            status_message=span.status.message,
                            resource=resource,
                        )
                    )
    return spans
