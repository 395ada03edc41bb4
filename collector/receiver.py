"""OTLP/HTTP receiver: ``POST /v1/traces``, ``/v1/logs``, ``/v1/metrics`` (protobuf or JSON, gzip), ``GET /healthz``.

Status codes follow the OTLP/HTTP specification: 200 (with ``partial_success`` when some spans
were rejected), 400 for undecodable data, 413 over the size limit (from the declared length before
anything else, or as soon as a streamed body passes it), 415 for an unknown content type or
encoding, 429/503 with ``Retry-After`` when the collector is full or cannot store anything. The
response Content-Type equals the request's. Size, ``Host`` and in-flight budget are enforced by
``serving.guard.RequestGuard`` around every route, connection timeouts by ``serving.protocol``.

200 means committed, or durably queued on disk in the spool when PostgreSQL is slow or down. The
three signals share one request path (guard, limits, decoding, status codes); only decoding,
storing and the response message differ (``Signal``); gRPC reuses ``export``.
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from traceability.collector.drainer import SpoolDrainer
from traceability.collector.settings import CollectorSettings
from traceability.exporter.codec.common import MalformedRequest
from traceability.exporter.codec.logs import (
    DecodedLogs,
    decode_logs_json,
    decode_logs_protobuf,
    logs_request_to_otlp_json,
)
from traceability.exporter.codec.metrics import (
    DecodedMetrics,
    decode_metrics_json,
    decode_metrics_protobuf,
    metrics_request_to_otlp_json,
)
from traceability.exporter.codec.traces import DecodedBatch, decode_json, decode_protobuf, records_to_request
from traceability.exporter.storage.errors import TRANSIENT_DB_ERRORS
from traceability.exporter.storage.native_writer import NativeWriter, NativeWriteResult
from traceability.exporter.storage.writer import SpanWriter, WriteResult
from traceability.instrumentation.otlp_encode import request_to_otlp_json
from traceability.instrumentation.spool import write_spool_file
from traceability.serving.auth import BearerAuthMiddleware
from traceability.serving.budget import InflightBudget
from traceability.serving.guard import RequestGuard, reservation_of
from traceability.serving.hosts import HostPolicy

log = logging.getLogger(__name__)
T = TypeVar("T")

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
INVALID_ARGUMENT = 3
RESOURCE_EXHAUSTED = 8
UNAVAILABLE = 14


class _TooLarge(Exception):
    pass


@dataclass
class ReceiverStats:
    requests: int = 0
    spans_accepted: int = 0
    spans_rejected: int = 0
    spans_queued_on_disk: int = 0
    log_records_accepted: int = 0
    log_records_rejected: int = 0
    metric_points_accepted: int = 0
    metric_points_rejected: int = 0
    records_queued_on_disk: int = 0  # log records and metric points


@dataclass(frozen=True)
class Signal:
    """What differs between /v1/traces, /v1/logs and /v1/metrics (and their gRPC services)."""

    what: str  # "span", "log record", "metric point"
    decode_json: Callable[[bytes], Any]
    decode_protobuf: Callable[[bytes], Any]
    store: Callable[[Any], Awaitable[tuple[int, list[str]]]]  # -> (rejected count, reasons)
    response: Callable[[int, str], Message]  # partial_success (rejected, message) -> response


def _items(batch: Any) -> list[Any]:
    return batch.spans if isinstance(batch, DecodedBatch) else batch.items


def _partial_success(
    response_type: Callable[[], Message], rejected_field: str
) -> Callable[[int, str], Message]:
    """A signal's response builder: empty when all was kept, else partial_success with the rejected
    count (in the signal's own field) and the reason."""

    def build(rejected: int, message: str) -> Message:
        response = response_type()
        if rejected:
            partial = response.partial_success
            setattr(partial, rejected_field, rejected)
            partial.error_message = message
        return response

    return build


_trace_response = _partial_success(ExportTraceServiceResponse, "rejected_spans")
_logs_response = _partial_success(ExportLogsServiceResponse, "rejected_log_records")
_metrics_response = _partial_success(ExportMetricsServiceResponse, "rejected_data_points")


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _encode(message: Message, media_type: str) -> bytes:
    if media_type == JSON:
        return str(json_format.MessageToJson(message, indent=None)).encode("utf-8")
    return bytes(message.SerializeToString())


def _render_error(scope: Scope, status: int, message: str) -> tuple[bytes, bytes]:
    """The guard's answers, as an OTLP ``Status`` in the request's encoding."""
    media_type = _media_type(Request(scope))
    media_type = media_type if media_type in (PROTOBUF, JSON) else JSON
    code = RESOURCE_EXHAUSTED if status == 429 else INVALID_ARGUMENT
    return _encode(Status(code=code, message=message), media_type), media_type.encode()


def _status_response(
    code: int, message: str, media_type: str, http_status: int, retry_after: int | None = None
) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    body = _encode(Status(code=code, message=message), media_type if media_type in (PROTOBUF, JSON) else JSON)
    return Response(
        body,
        status_code=http_status,
        media_type=media_type if media_type in (PROTOBUF, JSON) else JSON,
        headers=headers,
    )


class OtlpReceiver:
    """The receiver's request handling; one instance per collector."""

    def __init__(
        self,
        settings: CollectorSettings,
        writer: SpanWriter,
        drainer: SpoolDrainer,
        native_writer: NativeWriter,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.native_writer = native_writer
        self.drainer = drainer
        self.stats = ReceiverStats()
        self.budget = InflightBudget(settings.max_inflight_bytes)
        self.grpc_state = "off"  # set by the service: listening on HOST:PORT, or why not
        self._traces = Signal("span", decode_json, decode_protobuf, self._store_spans, _trace_response)
        self._logs = Signal(
            "log record", decode_logs_json, decode_logs_protobuf, self._store_logs, _logs_response
        )
        self._metrics = Signal(
            "metric point",
            decode_metrics_json,
            decode_metrics_protobuf,
            self._store_metrics,
            _metrics_response,
        )

    def _decompress(self, body: bytes, encoding: str) -> bytes:
        if encoding in ("", "identity"):
            return body
        # gzip (and zlib "deflate"), bounded so a small bomb cannot expand past the limit
        inflater = zlib.decompressobj(wbits=47 if encoding == "gzip" else 15)
        try:
            out = inflater.decompress(body, self.settings.max_decompressed_bytes + 1)
        except zlib.error as exc:
            raise MalformedRequest(f"body is not valid {encoding} data: {exc}") from exc
        if len(out) > self.settings.max_decompressed_bytes or inflater.unconsumed_tail:
            raise _TooLarge(
                f"decompressed body is over the {self.settings.max_decompressed_bytes} byte limit"
            )
        return out

    async def handle_traces(self, request: Request) -> Response:
        return await self._handle(request, self._traces)

    async def handle_logs(self, request: Request) -> Response:
        return await self._handle(request, self._logs)

    async def handle_metrics(self, request: Request) -> Response:
        return await self._handle(request, self._metrics)

    async def _handle(self, request: Request, signal: Signal) -> Response:
        self.stats.requests += 1
        media_type = _media_type(request)
        if media_type not in (PROTOBUF, JSON):
            return _status_response(
                INVALID_ARGUMENT,
                f"unsupported Content-Type {media_type!r}: use {PROTOBUF} or {JSON}",
                JSON,
                415,
            )
        encoding = request.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip", "deflate"):
            return _status_response(
                INVALID_ARGUMENT, f"unsupported Content-Encoding {encoding!r}", media_type, 415
            )
        return await self._process(request, media_type, encoding, signal)

    async def _process(self, request: Request, media_type: str, encoding: str, signal: Signal) -> Response:
        try:
            compressed = await request.body()  # the guard counts it against the limit and the budget
            body = self._decompress(compressed, encoding)
            reservation = reservation_of(request.scope)
            if body is not compressed and reservation is not None and not reservation.grow(len(body)):
                return _status_response(
                    RESOURCE_EXHAUSTED,
                    "collector is at capacity; retry later",
                    media_type,
                    429,
                    self.settings.retry_after_s,
                )
            batch = signal.decode_json(body) if media_type == JSON else signal.decode_protobuf(body)
        except _TooLarge as exc:
            return _status_response(INVALID_ARGUMENT, str(exc), media_type, 413)
        except MalformedRequest as exc:
            return _status_response(INVALID_ARGUMENT, str(exc)[:1000], media_type, 400)
        except ClientDisconnect:
            return Response(status_code=400)
        try:
            response = await self.export(signal, batch)
        except MalformedRequest as exc:
            return _status_response(INVALID_ARGUMENT, str(exc)[:1000], media_type, 400)
        except OSError:
            return _status_response(
                UNAVAILABLE, "storage unavailable; retry later", media_type, 503, self.settings.retry_after_s
            )
        return Response(_encode(response, media_type), status_code=200, media_type=media_type)

    async def export(self, signal: Signal, batch: Any) -> Message:
        """Store a decoded batch; the Export response (``partial_success``). Shared by HTTP and gRPC.

        Raises MalformedRequest when nothing in the batch is valid, OSError when neither the
        database nor the disk queue took it.
        """
        items = _items(batch)
        if not items and batch.rejected:
            raise MalformedRequest(f"no valid {signal.what}: {batch.error_message}")
        try:
            db_rejected, reasons = await signal.store(batch)
        except OSError as exc:
            log.error("cannot store or queue %d %ss: %s", len(items), signal.what, exc)
            raise
        rejected = batch.rejected + db_rejected
        message = "; ".join(m for m in [batch.error_message, *reasons[:3]] if m)[:1000] if rejected else ""
        return signal.response(rejected, message)

    @property
    def signals(self) -> dict[str, Signal]:
        """The three signals by name (traces, logs, metrics)."""
        return {"traces": self._traces, "logs": self._logs, "metrics": self._metrics}

    async def _store_spans(self, batch: DecodedBatch) -> tuple[int, list[str]]:
        result = await self._store(batch)
        self.stats.spans_accepted += len(batch.spans) - len(result.rejected)
        self.stats.spans_rejected += batch.rejected + len(result.rejected)
        return len(result.rejected), [reason for _, reason in result.rejected]

    async def _store(self, batch: DecodedBatch) -> WriteResult:
        """Commit the batch, or queue it in the spool when the database does not answer in time."""
        try:
            return await self.writer.write(batch.spans)
        except TRANSIENT_DB_ERRORS as exc:
            self._queue(request_to_otlp_json(records_to_request(batch.spans)), "recv", batch)
            self.stats.spans_queued_on_disk += len(batch.spans)
            log.warning("database unavailable (%s): %d spans queued on disk", exc, len(batch.spans))
            return WriteResult(stored=len(batch.spans))

    def _queue(self, line: bytes, kind: str, batch: object) -> None:
        stem = f"{time.time_ns():020d}-{kind}-{os.getpid()}-{id(batch):x}"
        write_spool_file(self.settings.spool_dir, stem, [line])

    async def _store_logs(self, batch: DecodedLogs) -> tuple[int, list[str]]:
        rejected = await self._store_native(
            batch.records,
            self.native_writer.write_logs,
            lambda: logs_request_to_otlp_json(batch.accepted),
            "recv-logs",
            "log records",
        )
        self.stats.log_records_accepted += len(batch.records) - len(rejected)
        self.stats.log_records_rejected += batch.rejected + len(rejected)
        return len(rejected), rejected

    async def _store_metrics(self, batch: DecodedMetrics) -> tuple[int, list[str]]:
        rejected = await self._store_native(
            batch.points,
            self.native_writer.write_metrics,
            lambda: metrics_request_to_otlp_json(batch.accepted),
            "recv-metrics",
            "metric points",
        )
        self.stats.metric_points_accepted += len(batch.points) - len(rejected)
        self.stats.metric_points_rejected += batch.rejected + len(rejected)
        return len(rejected), rejected

    async def _store_native(
        self,
        items: Sequence[T],
        write: Callable[[Sequence[T]], Awaitable[NativeWriteResult[T]]],
        as_otlp_json: Callable[[], bytes],
        kind: str,
        noun: str,
    ) -> list[str]:
        """Commit log records or metric points (the reasons of those the database refused), or queue
        them in the spool when the database does not answer in time."""
        try:
            result = await write(items)
        except TRANSIENT_DB_ERRORS as exc:
            self._queue(as_otlp_json(), kind, items)
            self.stats.records_queued_on_disk += len(items)
            log.warning("database unavailable (%s): %d %s queued on disk", exc, len(items), noun)
            return []
        return [reason for _, reason in result.rejected]

    async def healthz(self, request: Request) -> JSONResponse:
        """200 while spans are stored or queued (``status`` ok or degraded); 503 when the drainer
        is dead, failing or stalled, with ``problems`` saying what is wrong."""
        drain = self.drainer.stats
        status, problems = self.drainer.health()
        return JSONResponse(
            {
                "status": status,
                "problems": problems,
                "database": "up" if drain.database_up else "down",
                "spool_dir": self.settings.spool_dir,
                "spool_pending_files": len(self.drainer.pending_files()),
                "spool_set_aside": self.drainer.files.set_aside,  # entries moved to rejected/, each with why
                "grpc": self.grpc_state,
                "receiver": {**vars(self.stats), "inflight_bytes": self.budget.used},
                "drainer": vars(drain),
            },
            status_code=503 if status == "unhealthy" else 200,
        )


def create_receiver_app(receiver: OtlpReceiver, lifespan: object = None) -> Starlette:
    settings = receiver.settings
    hosts = HostPolicy.build(
        settings.host,
        token_set=settings.access.token is not None,
        allowed_hosts=settings.limits.allowed_hosts,
    )
    guard = Middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        hosts=hosts,
        render=_render_error,
        budget=receiver.budget,
        retry_after_s=settings.retry_after_s,
    )
    return Starlette(
        middleware=[guard, Middleware(BearerAuthMiddleware, policy=settings.access)],
        routes=[
            Route("/v1/traces", receiver.handle_traces, methods=["POST"]),
            Route("/v1/logs", receiver.handle_logs, methods=["POST"]),
            Route("/v1/metrics", receiver.handle_metrics, methods=["POST"]),
            Route("/healthz", receiver.healthz, methods=["GET"]),
        ],
        lifespan=lifespan,  # type: ignore[arg-type]
    )
