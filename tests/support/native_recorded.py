"""The recorded Claude Code 2.1.332 sessions (tests/fixtures/claude-code-native): hook payloads and OTLP bodies."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "claude-code-native"
ENCODINGS = ("json", "protobuf-gzip")


@dataclass(frozen=True)
class OtlpBody:
    name: str  # e.g. 02-logs
    signal: str  # traces | logs | metrics
    body: bytes
    headers: dict[str, str]

    def decoded_json(self) -> dict[str, Any]:
        """The request as OTLP/JSON (only for the json recording)."""
        return json.loads(self.body)

    def raw(self) -> bytes:
        return gzip.decompress(self.body) if self.headers.get("Content-Encoding") == "gzip" else self.body


def otlp_bodies(encoding: str) -> list[OtlpBody]:
    out = []
    for path in sorted((FIXTURES / encoding / "otlp").iterdir()):
        stem = path.name.split(".", 1)[0]
        signal = stem.split("-", 1)[1]
        if encoding == "json":
            headers = {"Content-Type": "application/json"}
        else:
            headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
        out.append(OtlpBody(stem, signal, path.read_bytes(), headers))
    return out


def hook_payloads(encoding: str) -> list[dict[str, Any]]:
    lines = (FIXTURES / encoding / "hooks.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def json_log_records() -> list[dict[str, Any]]:
    """Every log record of the json recording, attributes flattened to Python values."""
    out = []
    for body in otlp_bodies("json"):
        if body.signal != "logs":
            continue
        for rl in body.decoded_json()["resourceLogs"]:
            for sl in rl["scopeLogs"]:
                for record in sl["logRecords"]:
                    attrs = {kv["key"]: _value(kv["value"]) for kv in record.get("attributes", [])}
                    out.append({**record, "attrs": attrs})
    return out


def _value(value: dict[str, Any]) -> Any:
    raw: Any
    ((kind, raw),) = value.items() if value else (("none", None),)
    if kind == "intValue":
        return int(raw)
    if kind == "kvlistValue":
        return {kv["key"]: _value(kv["value"]) for kv in raw.get("values", [])}
    if kind == "arrayValue":
        return [_value(v) for v in raw.get("values", [])]
    return raw


def log_records(encoding: str) -> list[tuple[dict[str, Any], str | None]]:
    """(attributes, trace id hex) of every log record of a recording, read with the OTel protos."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    out = []
    for body in otlp_bodies(encoding):
        if body.signal != "logs":
            continue
        request = ExportLogsServiceRequest()
        if encoding == "json":
            json_format.Parse(_ids_base64(body.raw()), request)
        else:
            request.ParseFromString(body.raw())
        for rl in request.resource_logs:
            for sl in rl.scope_logs:
                for record in sl.log_records:
                    attrs = {kv.key: _pb_value(kv.value) for kv in record.attributes}
                    out.append((attrs, record.trace_id.hex() or None))
    return out


def native_spans(encoding: str) -> list[dict[str, Any]]:
    """Claude Code's spans of a recording (name, ids, duration, attributes), read with the OTel protos."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    body = next(b for b in otlp_bodies(encoding) if b.signal == "traces")
    request = ExportTraceServiceRequest()
    if encoding == "json":
        json_format.Parse(_ids_base64(body.raw()), request)
    else:
        request.ParseFromString(body.raw())
    return [
        {
            "name": s.name, "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(),
            "parent_span_id": s.parent_span_id.hex() or None, "status_code": s.status.code,
            "duration_ms": (s.end_time_unix_nano - s.start_time_unix_nano) / 1e6,
            "attrs": {kv.key: _pb_value(kv.value) for kv in s.attributes},
        }
        for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans
    ]  # fmt: skip


def _ids_base64(raw: bytes) -> str:
    import base64

    def fix(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {
                k: base64.b64encode(bytes.fromhex(v)).decode() if k in ("traceId", "spanId", "parentSpanId") and v else fix(v)
                for k, v in obj.items()
            }  # fmt: skip
        if isinstance(obj, list):
            return [fix(v) for v in obj]
        return obj

    return json.dumps(fix(json.loads(raw)))


def _pb_value(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in value.kvlist_value.values}
    if which == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    return getattr(value, which) if which else None
