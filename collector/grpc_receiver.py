"""OTLP/gRPC receiver (default :4317): the Trace, Logs and Metrics services' ``Export``.

Access is the HTTP receiver's too (``authorization: Bearer <token>`` metadata when a token is set).
Requests take the HTTP receiver's path after the transport (``OtlpReceiver.export``): the same
decoding, storing, spooling and ``partial_success``. Status codes follow the OTLP specification:
OK (with ``partial_success``), INVALID_ARGUMENT when nothing in the request can be decoded or
stored, RESOURCE_EXHAUSTED (with ``RetryInfo``) when the collector is at capacity, UNAVAILABLE
(with ``RetryInfo``) when neither the database nor the spool takes the batch. The body reaches us
as bytes (no deserializer), so a malformed protobuf is an INVALID_ARGUMENT of ours, not grpc's.
gzip is handled by grpc itself; the message size limit is the decompressed body limit.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.duration_pb2 import Duration
from google.rpc import error_details_pb2, status_pb2

from traceability.collector.receiver import OtlpReceiver, Signal
from traceability.exporter.codec.common import MalformedRequest

log = logging.getLogger(__name__)

SERVICES = {
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
}


def _status_details(
    code: grpc.StatusCode, message: str, retry_after_s: int | None
) -> tuple[tuple[str, bytes], ...]:
    """``grpc-status-details-bin``: a google.rpc.Status, with RetryInfo when the client should retry."""
    status = status_pb2.Status(code=code.value[0], message=message)
    if retry_after_s is not None:
        detail = AnyMessage()
        detail.Pack(error_details_pb2.RetryInfo(retry_delay=Duration(seconds=retry_after_s)))
        status.details.append(detail)
    return (("grpc-status-details-bin", status.SerializeToString()),)


class GrpcReceiver:
    def __init__(self, receiver: OtlpReceiver) -> None:
        self.receiver = receiver

    async def _abort(self, context: Any, code: grpc.StatusCode, message: str, retry: bool = False) -> None:
        retry_after = self.receiver.settings.retry_after_s if retry else None
        await context.abort(
            code, message[:1000], trailing_metadata=_status_details(code, message[:1000], retry_after)
        )

    def handler(self, signal: Signal) -> Any:
        async def export(body: bytes, context: Any) -> Any:
            receiver = self.receiver
            receiver.stats.requests += 1
            settings = receiver.settings
            metadata = dict(context.invocation_metadata() or ())
            if not settings.access.allows(metadata.get("authorization")):
                await self._abort(context, grpc.StatusCode.UNAUTHENTICATED, "missing or invalid bearer token")
            reservation = receiver.budget.open()
            if not reservation.grow(len(body)):
                await self._abort(
                    context,
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "collector is at capacity; retry later",
                    retry=True,
                )
            try:
                try:
                    batch = signal.decode_protobuf(body)
                    return await receiver.export(signal, batch)
                except MalformedRequest as exc:
                    message = str(exc)
                except OSError:
                    message = ""
            finally:
                reservation.close()
            if message:
                await self._abort(context, grpc.StatusCode.INVALID_ARGUMENT, message)
            await self._abort(
                context, grpc.StatusCode.UNAVAILABLE, "storage unavailable; retry later", retry=True
            )

        return export

    def generic_handlers(self) -> list[Any]:
        return [
            grpc.method_handlers_generic_handler(
                SERVICES[name],
                {
                    "Export": grpc.unary_unary_rpc_method_handler(
                        self.handler(signal),
                        request_deserializer=None,
                        response_serializer=lambda message: message.SerializeToString(),
                    )
                },
            )
            for name, signal in self.receiver.signals.items()
        ]


async def start_grpc_server(receiver: OtlpReceiver, host: str, port: int) -> grpc.aio.Server:
    """Listening on ``host:port`` (SO_REUSEPORT: every worker process of a collector may bind it)."""
    limit = receiver.settings.max_decompressed_bytes
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", limit), ("grpc.so_reuseport", 1)],
    )
    server.add_generic_rpc_handlers(GrpcReceiver(receiver).generic_handlers())
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen for OTLP/gRPC on {host}:{port}")
    await server.start()
    log.info("collector: OTLP/gRPC on %s:%d", host, bound)
    return server
