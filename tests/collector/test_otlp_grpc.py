"""OTLP/gRPC on the real collector: the SDK's gRPC exporter, the recorded Claude Code logs and metrics,
and the OTLP status codes (INVALID_ARGUMENT, RESOURCE_EXHAUSTED with RetryInfo) and queueing on disk."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.support.collector import start_collector, stop_collector
from tests.support.db import fetch
from tests.support.ingest_payloads import TRACE, TRACE_UUID
from tests.support.native_recorded import otlp_bodies
from tests.support.spans import make_turn
from traceability.exporter.devtools.embedded_pg import free_port

LOGS = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
METRICS = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"


def _call(
    port: int, method: str, body: bytes, compression: grpc.Compression = grpc.Compression.NoCompression
) -> bytes:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        result: bytes = call(body, timeout=30, compression=compression)
        return result


def _collector(dsn: str, tmp_path: Path, env: dict[str, str] | None = None) -> tuple[object, int]:
    port = free_port()
    collector = start_collector(dsn, tmp_path / "spool", tmp_path / "c.log", env, ("--grpc-port", str(port)))
    return collector, port


def test_sdk_grpc_exporter_and_recorded_logs_and_metrics(db_dsn: str, tmp_path: Path) -> None:
    collector, port = _collector(db_dsn, tmp_path)
    try:
        exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, timeout=10)
        assert exporter.export(make_turn(TRACE, hooks=2)) is SpanExportResult.SUCCESS
        exporter.shutdown()
        for body in otlp_bodies("protobuf-gzip"):
            if body.signal == "logs":
                raw = _call(port, LOGS, body.raw(), grpc.Compression.Gzip)
                assert not ExportLogsServiceResponse.FromString(raw).HasField("partial_success")
            elif body.signal == "metrics":
                raw = _call(port, METRICS, body.raw())
                assert ExportMetricsServiceResponse.FromString(raw).partial_success.rejected_data_points == 0
        health = collector.health()  # type: ignore[attr-defined]
    finally:
        stop_collector(collector)  # type: ignore[arg-type]
    assert health["grpc"] == f"listening on 127.0.0.1:{port}"
    assert fetch(db_dsn, "SELECT id FROM execution_traces") == [{"id": TRACE_UUID}]
    assert len(fetch(db_dsn, "SELECT 1 FROM hook_executions")) == 2
    stored = health["receiver"]["log_records_accepted"]
    assert stored > 0 and len(fetch(db_dsn, "SELECT 1 FROM claude_code_events")) == stored
    assert (
        len(fetch(db_dsn, "SELECT 1 FROM claude_code_metric_points"))
        == health["receiver"]["metric_points_accepted"]
    )


def _status(error: grpc.RpcError) -> status_pb2.Status:
    details = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
    return status_pb2.Status.FromString(details)


def test_grpc_status_codes(db_dsn: str, tmp_path: Path) -> None:
    collector, port = _collector(db_dsn, tmp_path, {"TRACEABILITY_MAX_INFLIGHT_BYTES": "2000"})
    try:
        with pytest.raises(grpc.RpcError) as bad:
            _call(port, LOGS, b"\xff\xff\xff garbage")
        assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "not a valid OTLP ExportLogsServiceRequest" in bad.value.details()

        big = next(b for b in otlp_bodies("protobuf-gzip") if b.name == "02-logs").raw()
        assert len(big) > 2000
        with pytest.raises(grpc.RpcError) as full:
            _call(port, LOGS, big)
        assert full.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        retry = error_details_pb2.RetryInfo()
        assert _status(full.value).details[0].Unpack(retry) and retry.retry_delay.seconds >= 1
        assert collector.health()["status"] == "ok"  # type: ignore[attr-defined]
    finally:
        stop_collector(collector)  # type: ignore[arg-type]
    assert fetch(db_dsn, "SELECT 1 FROM claude_code_events") == []


def test_grpc_batches_are_queued_on_disk_when_the_database_is_down(tmp_path: Path) -> None:
    down = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    collector, port = _collector(down, tmp_path)
    try:
        body = next(b for b in otlp_bodies("protobuf-gzip") if b.name == "04-logs").raw()
        assert not ExportLogsServiceResponse.FromString(_call(port, LOGS, body)).HasField("partial_success")
        queued = collector.health()["receiver"]["records_queued_on_disk"]  # type: ignore[attr-defined]
    finally:
        stop_collector(collector)  # type: ignore[arg-type]
    assert queued > 0 and len(list((tmp_path / "spool").glob("*.json"))) == 1
