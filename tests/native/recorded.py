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
        return json.loads(self.body)  # type: ignore[no-any-return]

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
    ((kind, raw),) = value.items() if value else (("none", None),)
    if kind == "intValue":
        return int(raw)
    if kind == "kvlistValue":
        return {kv["key"]: _value(kv["value"]) for kv in raw.get("values", [])}
    if kind == "arrayValue":
        return [_value(v) for v in raw.get("values", [])]
    return raw
