"""Claude Code log events as OTLP protobuf requests (api_request / tool_decision /
hook_execution_complete), with known ids: what bench/ingest --signal logs sends, and a corpus for
the event mapping tests."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from traceability.exporter.codec.traces import attribute_kv
from traceability.instrumentation import semconv as sc

T0 = 1_767_225_600_000_000_000
SESSION = "8bbcceab-0b3e-4e24-98c9-ec146b1ca8c6"


def make_log_requests(total: int, batch: int, seed: int) -> list[bytes]:
    """OTLP requests of ``batch`` events each: api_request / tool_decision / hook_execution_complete."""
    requests: list[bytes] = []
    for start in range(0, total, batch):
        request = ExportLogsServiceRequest()
        rl = request.resource_logs.add()
        rl.resource.attributes.extend(
            [attribute_kv(sc.SERVICE_NAME, "claude-code"), attribute_kv(sc.SERVICE_VERSION, "2.1.332")]
        )
        sl = rl.scope_logs.add()
        sl.scope.name = sc.CC_EVENTS_SCOPE
        for i in range(start, min(start + batch, total)):
            record = sl.log_records.add()
            record.time_unix_nano = record.observed_time_unix_nano = T0 + i * 1000
            record.trace_id = (seed << 64 | i // 50 + 1).to_bytes(16, "big")
            record.span_id = (i % 50 + 1).to_bytes(8, "big")
            kind = ("api_request", "tool_decision", "hook_execution_complete")[i % 3]
            record.body.string_value = f"claude_code.{kind}"
            attrs = {
                "user.id": "4e396af6e687ad8fb16ab3cd10eb308528484ed1ceabd1c5be010d497fecf637",
                sc.SESSION_ID: SESSION, "terminal.type": "dumb", sc.CC_EVENT_NAME: kind,
                sc.CC_EVENT_SEQUENCE: seed * 10**9 + i, sc.PROMPT_ID: f"prompt-{seed}-{i // 50}",
            }  # fmt: skip
            if kind == "api_request":
                attrs.update({sc.CC_MODEL: "claude-opus-5-5", sc.CC_INPUT_TOKENS: 100, sc.CC_OUTPUT_TOKENS: 20,
                              sc.CC_CACHE_READ_TOKENS: 0, sc.CC_CACHE_CREATION_TOKENS: 0, sc.CC_COST_USD: 0.0008,
                              sc.CC_DURATION_MS: 35, sc.CC_TTFT_MS: 18, sc.CC_REQUEST_ID: f"req_{i}"})  # fmt: skip
            elif kind == "tool_decision":
                attrs.update({sc.CC_DECISION: "accept", sc.CC_DECISION_SOURCE: "config", sc.CC_TOOL_NAME: "Bash",
                              sc.CC_TOOL_USE_ID: f"toolu_{seed}_{i}"})  # fmt: skip
            else:
                attrs.update({sc.CC_HOOK_EVENT: "PreToolUse", sc.CC_HOOK_NAME: "PreToolUse:Bash",
                              sc.CC_NUM_HOOKS: 2, sc.CC_HOOK_TOTAL_DURATION_MS: 36})  # fmt: skip
            record.attributes.extend(attribute_kv(k, v) for k, v in attrs.items())
        requests.append(request.SerializeToString())
    return requests
