"""The hostile inputs of issue 11 as one-shot requests for the hostile soak, each answering an outcome.

Every kind sends one hostile request (or drops one special entry into the spool) and returns what
came back: the HTTP status (``"413"``), the gRPC code (``"grpc INVALID_ARGUMENT"``) or, for spool
entries, ``"dropped"`` (their fate is read from ``rejected/`` afterwards, see ``spool_outcomes``).
Trace ids live in run ``HOSTILE_RUN``, far from the good traffic's, so hostile spans that are stored
(long values are kept, non-finite numbers stored as absent) never count as good ones.
"""

from __future__ import annotations

import http.client
import itertools
import math
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import httpx
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tests.support.hostile_bodies import hostile_request
from tests.support.ingest_payloads import body, incompressible, plant, turn_payload
from tests.support.native_recorded import otlp_bodies
from tests.support.spans import make_turn
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.spool import write_spool_file

HOSTILE_RUN = 0xBAD0BAD0
MiB = 1024 * 1024
SIGNALS = ("traces", "logs", "metrics")
GRPC_METHODS = {
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
}
GRPC_SERVER_ERRORS = {"INTERNAL", "UNKNOWN", "DATA_LOSS", "UNAVAILABLE", "UNIMPLEMENTED"}


@dataclass
class Target:
    """Where hostile input goes: the collector's HTTP base URL, gRPC port and spool."""

    url: str
    grpc_port: int
    spool: Path
    outside: Path  # a directory beside the spool, for links that point out of it
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    counter: itertools.count[int] = field(default_factory=itertools.count)
    dropped: dict[str, str] = field(default_factory=dict)  # spool entry name -> its kind
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards ``dropped``: read while written

    def trace_id(self) -> int:
        return (HOSTILE_RUN << 64) | next(self.counter)


def _recorded(signal: str) -> bytes:
    return next(b.raw() for b in otlp_bodies("protobuf-gzip") if b.signal == signal)


_LOGS = _recorded("logs")
_METRICS = _recorded("metrics")


def _post(target: Target, signal: str, content: bytes, content_type: str = "application/x-protobuf") -> str:
    response = httpx.post(
        f"{target.url}/v1/{signal}", content=content, headers={"Content-Type": content_type}, timeout=60
    )
    return str(response.status_code)


def _grpc(target: Target, signal: str, message: bytes) -> str:
    with grpc.insecure_channel(
        f"127.0.0.1:{target.grpc_port}", options=[("grpc.max_send_message_length", 128 * MiB)]
    ) as channel:
        call = channel.unary_unary(GRPC_METHODS[signal], request_serializer=None, response_deserializer=None)
        try:
            call(message, timeout=60)
        except grpc.RpcError as exc:
            return f"grpc {exc.code().name}"
    return "grpc OK"


# -- bodies ------------------------------------------------------------------------------------


def long_values_traces(target: Target) -> bytes:
    """One turn with 3-4k characters in session.id and gen_ai.tool.call.id (a hook) and the root's
    traceability.trace.status: values no btree index can hold."""
    payload = turn_payload(target.trace_id())
    seed = target.rng.randrange(1 << 30)
    plant(payload, "hook", sc.SESSION_ID, {"stringValue": incompressible(3000, seed)})
    plant(payload, "hook", sc.GEN_AI_TOOL_CALL_ID, {"stringValue": incompressible(3500, seed + 1)})
    plant(payload, "root", sc.TRACE_STATUS, {"stringValue": incompressible(4000, seed + 2)})
    return body(payload)


def long_values_logs(target: Target) -> bytes:
    request = ExportLogsServiceRequest.FromString(_LOGS)
    for record in request.resource_logs[0].scope_logs[0].log_records[:5]:
        for kv in record.attributes:
            if kv.key in (sc.SESSION_ID, "prompt.id"):
                kv.value.string_value = incompressible(4000, target.rng.randrange(1 << 30))
    return request.SerializeToString()


def _nest(target: AnyValue, depth: int, leaf: str) -> None:
    if depth == 0:
        target.string_value = leaf
        return
    _nest(target.kvlist_value.values.add(key=f'level "{depth}"').value, depth - 1, leaf)


def amplification_traces(target: Target) -> bytes:
    """A kvlist nested 8 levels, 64 KiB of quotes and backslashes at the bottom."""
    request = encode_spans(make_turn(target.trace_id(), hooks=3))
    hook = next(s for s in request.resource_spans[0].scope_spans[0].spans if s.parent_span_id)
    _nest(hook.attributes.add(key="tool.input.nested").value, 8, '"\\' * 32_000)
    return request.SerializeToString()


def amplification_logs(target: Target) -> bytes:
    request = ExportLogsServiceRequest.FromString(_LOGS)
    record = request.resource_logs[0].scope_logs[0].log_records[0]
    _nest(record.attributes.add(key="tool.input.nested").value, 8, '"\\' * 32_000)
    return request.SerializeToString()


def non_finite_traces(target: Target) -> bytes:
    """quality.score = +Inf and duration_ms = -Inf (and NaN) in hook spans."""
    request = encode_spans(make_turn(target.trace_id(), hooks=3))
    hooks = [s for s in request.resource_spans[0].scope_spans[0].spans if s.parent_span_id]
    for span, (score, duration) in zip(
        hooks, [(math.inf, -math.inf), (math.nan, 1.0), (0.5, math.inf)], strict=True
    ):
        for kv in span.attributes:
            if kv.key == sc.QUALITY_SCORE:
                kv.value.double_value = score
        span.attributes.add(key=sc.DURATION_MS).value.double_value = duration
    return request.SerializeToString()


def non_finite_metrics(target: Target) -> bytes:
    request = ExportMetricsServiceRequest.FromString(_METRICS)
    values = itertools.cycle([math.inf, -math.inf, math.nan])
    for metric in request.resource_metrics[0].scope_metrics[0].metrics:
        data = getattr(metric, metric.WhichOneof("data") or "sum")
        for point in getattr(data, "data_points", []):
            point.as_double = next(values)
    return request.SerializeToString()


def non_finite_logs(target: Target) -> bytes:
    request = ExportLogsServiceRequest.FromString(_LOGS)
    for record in request.resource_logs[0].scope_logs[0].log_records[:5]:
        record.attributes.add(key="duration_ms").value.double_value = -math.inf
        record.attributes.add(key="cost_usd").value.double_value = math.inf
    return request.SerializeToString()


def malformed(target: Target) -> tuple[bytes, str]:
    """Random bytes, bit-flipped or truncated protobuf, deep or ill-typed JSON, wrong content types."""
    return hostile_request(target.rng, next(target.counter))


def oversized(target: Target, signal: str) -> str:
    """65-70 MiB with its Content-Length declared, sent whole before reading (as the SDK's
    ``requests`` does): the answer must be 413, readable by a client still sending."""
    size = (65 + target.rng.randrange(6)) * MiB
    parts = urlsplit(target.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    try:
        conn.request(
            "POST", f"/v1/{signal}", body=b"\0" * size, headers={"Content-Type": "application/x-protobuf"}
        )
        response = conn.getresponse()
        response.read()
        return str(response.status)
    except OSError as exc:
        return f"client error {type(exc).__name__}"
    finally:
        conn.close()


# -- spool entries -----------------------------------------------------------------------------

SPOOL_KINDS = ("mode-000", "fifo-link", "dev-zero-link", "outside-link", "dir", "poison-line")


def drop_spool_entry(target: Target, kind: str) -> str:
    """Create one special entry named ``hostile-<kind>-<n>.json`` in the spool."""
    n = next(target.counter)
    name = f"hostile-{kind}-{n}"
    path = target.spool / f"{name}.json"
    with target.lock:
        target.dropped[path.name] = kind
    if kind == "mode-000":
        write_spool_file(str(target.outside), name, [body(turn_payload(target.trace_id(), hooks=2))])
        (target.outside / f"{name}.json").chmod(0)
        os.rename(target.outside / f"{name}.json", path)
    elif kind == "fifo-link":
        fifo = target.outside / f"{name}.fifo"
        os.mkfifo(fifo)
        path.symlink_to(fifo)
    elif kind == "dev-zero-link":
        path.symlink_to("/dev/zero")
    elif kind == "outside-link":
        write_spool_file(str(target.outside), name, [body(turn_payload(target.trace_id(), hooks=2))])
        path.symlink_to(target.outside / f"{name}.json")
    elif kind == "dir":
        path.mkdir()
    else:  # a line that is not OTLP beside a span with a 3,000-character session id
        poison = turn_payload(target.trace_id(), hooks=2)
        plant(poison, "hook", sc.SESSION_ID, {"stringValue": incompressible(3000, n)})
        write_spool_file(str(target.outside), name, [b'{"resourceSpans": [{"scopeSpans": 7', body(poison)])
        os.rename(target.outside / f"{name}.json", path)
    return "dropped"


def spool_outcomes(target: Target) -> dict[str, dict[str, int]]:
    """The fate of each hostile spool entry dropped so far: set aside under ``rejected/`` (with the
    first words of its reason), drained (gone, nothing set aside), or still pending."""
    outcomes: dict[str, dict[str, int]] = {}
    spool = target.spool
    rejected = spool / "rejected"
    with target.lock:
        dropped = list(target.dropped.items())
    for name, kind in dropped:
        reason = rejected / f"{name}.reason"
        if os.path.lexists(spool / name):
            fate = "still pending"
        elif os.path.lexists(rejected / name):
            words = " ".join(reason.read_text(errors="replace").split()[:6]) if reason.exists() else ""
            fate = f"set aside: {words[:60]}"
        else:
            fate = "drained"
        per_kind = outcomes.setdefault(f"spool {kind}", {})
        per_kind[fate] = per_kind.get(fate, 0) + 1
    return outcomes


# -- the catalogue -----------------------------------------------------------------------------


def _http(
    signal: str, build: Callable[[Target], bytes], content_type: str = "application/x-protobuf"
) -> Callable[[Target], str]:
    return lambda target: _post(target, signal, build(target), content_type)


def _malformed_http(signal: str) -> Callable[[Target], str]:
    def send(target: Target) -> str:
        content, content_type = malformed(target)
        return _post(target, signal, content, content_type)

    return send


def _malformed_grpc(signal: str) -> Callable[[Target], str]:
    return lambda target: _grpc(target, signal, hostile_request(target.rng, next(target.counter))[0])


LIGHT_KINDS: dict[str, Callable[[Target], str]] = {
    "long values http traces": _http("traces", long_values_traces, "application/json"),
    "long values http logs": _http("logs", long_values_logs),
    "long values grpc logs": lambda t: _grpc(t, "logs", long_values_logs(t)),
    "amplification http traces": _http("traces", amplification_traces),
    "amplification http logs": _http("logs", amplification_logs),
    "amplification grpc traces": lambda t: _grpc(t, "traces", amplification_traces(t)),
    "non-finite http traces": _http("traces", non_finite_traces),
    "non-finite http metrics": _http("metrics", non_finite_metrics),
    "non-finite http logs": _http("logs", non_finite_logs),
    "non-finite grpc metrics": lambda t: _grpc(t, "metrics", non_finite_metrics(t)),
    **{f"malformed http {s}": _malformed_http(s) for s in SIGNALS},
    **{f"malformed grpc {s}": _malformed_grpc(s) for s in SIGNALS},
    **{f"spool {k}": partial(drop_spool_entry, kind=k) for k in SPOOL_KINDS},
}
"""Cheap kinds, sent round-robin at the hostile rate."""

HEAVY_KINDS: dict[str, Callable[[Target], str]] = {
    **{f"oversized http {s}": partial(oversized, signal=s) for s in SIGNALS},
    "oversized grpc traces": lambda t: _grpc(t, "traces", b"\0" * (66 * MiB)),
}
"""65-70 MiB bodies (gRPC: 66 MiB, over its 64 MiB message limit), sent one at a time."""


def is_server_error(outcome: str) -> bool:
    """A 5xx, or the gRPC codes that mean the server failed (not the client's fault, not a limit)."""
    if outcome.startswith("grpc "):
        return outcome[5:] in GRPC_SERVER_ERRORS
    return outcome[:1] == "5" and outcome[:3].isdigit()
