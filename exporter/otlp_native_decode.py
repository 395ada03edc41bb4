"""OTLP ``ExportLogsServiceRequest`` / ``ExportMetricsServiceRequest`` (protobuf or OTLP/JSON) -> records.

Record by record, as spans are decoded (``otlp_decode``): a log record or metric point that cannot
be stored is rejected with a reason and the rest of the request is kept, for ``partial_success``.
Each decoded batch also holds the accepted records as a request again, which is what the collector
queues on disk when the database does not answer.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from traceability.exporter.native_records import TEMPORALITIES, LogRecordData, MetricPointData
from traceability.exporter.otlp_decode import MalformedRequest, _any_value, _attributes
from traceability.exporter.records import AttrValue

_PARSE_ERRORS = (ValueError, json_format.ParseError, RecursionError, TypeError)


class InvalidRecord(ValueError):
    """A log record or metric point that cannot be stored; the message says which field."""


@dataclass
class DecodedLogs:
    records: list[LogRecordData] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    accepted: ExportLogsServiceRequest = field(default_factory=ExportLogsServiceRequest)

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected += count
        if len(self.errors) < 10:
            self.errors.append(reason)

    @property
    def error_message(self) -> str:
        return "; ".join(self.errors)

    @property
    def items(self) -> list[LogRecordData]:
        return self.records


@dataclass
class DecodedMetrics:
    points: list[MetricPointData] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    accepted: ExportMetricsServiceRequest = field(default_factory=ExportMetricsServiceRequest)

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected += count
        if len(self.errors) < 10:
            self.errors.append(reason)

    @property
    def error_message(self) -> str:
        return "; ".join(self.errors)

    @property
    def items(self) -> list[MetricPointData]:
        return self.points


def _hex_id(raw: bytes, digits: int, what: str) -> str | None:
    if not raw:
        return None
    value = raw.hex()
    if len(value) != digits:
        raise InvalidRecord(f"{what} must be {digits} hex digits, got {value[:64]!r}")
    return None if value == "0" * digits else value


def _body(value: AnyValue) -> AttrValue:
    return _any_value(value) if value.WhichOneof("value") else None


# --- logs -------------------------------------------------------------------------------------


def _log_record(record: LogRecord, resource: dict[str, AttrValue], scope_name: str) -> LogRecordData:
    when = record.time_unix_nano or record.observed_time_unix_nano
    if when <= 0:
        raise InvalidRecord("timeUnixNano or observedTimeUnixNano must be set")
    return LogRecordData(
        time_unix_nano=when,
        observed_time_unix_nano=record.observed_time_unix_nano,
        severity_number=record.severity_number,
        severity_text=record.severity_text,
        body=_body(record.body),
        attributes=_attributes(record.attributes),
        trace_id=_hex_id(record.trace_id, 32, "traceId"),
        span_id=_hex_id(record.span_id, 16, "spanId"),
        resource=resource,
        scope_name=scope_name,
    )


def decode_logs_request(request: ExportLogsServiceRequest) -> DecodedLogs:
    batch = DecodedLogs()
    for resource_logs in request.resource_logs:
        resource = _attributes(resource_logs.resource.attributes)
        out_rl = batch.accepted.resource_logs.add()
        out_rl.resource.CopyFrom(resource_logs.resource)
        for scope_logs in resource_logs.scope_logs:
            out_sl = out_rl.scope_logs.add()
            out_sl.scope.CopyFrom(scope_logs.scope)
            for record in scope_logs.log_records:
                _add_log(batch, out_sl.log_records, record, resource, scope_logs.scope.name)
    return batch


def _add_log(
    batch: DecodedLogs, out: Any, record: LogRecord, resource: dict[str, AttrValue], scope_name: str
) -> None:
    try:
        batch.records.append(_log_record(record, resource, scope_name))
    except InvalidRecord as exc:
        batch.reject(f"log record: {exc}")
        return
    out.add().CopyFrom(record)


def decode_logs_protobuf(body: bytes) -> DecodedLogs:
    request = ExportLogsServiceRequest()
    _parse_protobuf(request, body, "ExportLogsServiceRequest")
    return decode_logs_request(request)


def _parse_protobuf(message: Message, body: bytes, what: str) -> None:
    try:
        message.ParseFromString(body)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise MalformedRequest(f"body is not a valid OTLP {what} protobuf: {exc}") from exc


def _ids_to_base64(obj: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """OTLP/JSON ids are hex; protobuf's JSON parser wants base64. Raises ValueError."""
    obj = dict(obj)
    for key in keys:
        value = obj.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a hex string")
        try:
            obj[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
        except ValueError:
            raise ValueError(f"{key} is not hex: {value[:64]!r}") from None
    return obj


def _parse_dict(obj: Any, message: Message) -> Any:
    if not isinstance(obj, dict):
        raise ValueError(f"expected an object, got {type(obj).__name__}")
    return json_format.ParseDict(obj, message, ignore_unknown_fields=True)


def _list_field(obj: Any, *keys: str) -> list[Any] | None:
    if not isinstance(obj, dict):
        return None
    for key in keys:
        if key in obj:
            value = obj[key]
            return value if isinstance(value, list) else None
    return []


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8", "replace"))
    except (ValueError, RecursionError) as exc:
        raise MalformedRequest(f"body is not valid JSON: {exc}") from exc


def decode_logs_json_object(payload: Any) -> DecodedLogs:
    """One OTLP/JSON ExportLogsServiceRequest object, record by record."""
    top = _list_field(payload, "resourceLogs", "resource_logs")
    if top is None:
        raise MalformedRequest("OTLP/JSON logs body must be an object with a resourceLogs array")
    batch = DecodedLogs()
    for rl in top:
        scopes = _list_field(rl, "scopeLogs", "scope_logs")
        if scopes is None:
            batch.reject("resourceLogs entry is not an object with a scopeLogs array")
            continue
        try:
            resource_pb = _parse_dict(rl.get("resource") or {}, Resource())
        except _PARSE_ERRORS as exc:
            batch.reject(
                f"invalid resource: {exc}", sum(len(_list_field(s, "logRecords") or []) for s in scopes) or 1
            )
            continue
        resource = _attributes(resource_pb.attributes)
        out_rl = batch.accepted.resource_logs.add()
        out_rl.resource.CopyFrom(resource_pb)
        for sl in scopes:
            records = _list_field(sl, "logRecords", "log_records")
            if records is None:
                batch.reject("scopeLogs entry is not an object with a logRecords array")
                continue
            out_sl = out_rl.scope_logs.add()
            scope = sl.get("scope")
            if isinstance(scope, dict) and isinstance(scope.get("name"), str):
                out_sl.scope.name = scope["name"]
            for obj in records:
                try:
                    record = _parse_dict(
                        _ids_to_base64(obj, ("traceId", "spanId", "trace_id", "span_id")), LogRecord()
                    )
                except (*_PARSE_ERRORS, AttributeError) as exc:
                    batch.reject(f"log record: {exc}")
                    continue
                _add_log(batch, out_sl.log_records, record, resource, out_sl.scope.name)
    return batch


def decode_logs_json(body: bytes) -> DecodedLogs:
    return decode_logs_json_object(_load_json(body))


def logs_request_to_otlp_json(request: ExportLogsServiceRequest) -> bytes:
    """One OTLP/JSON line (hex ids, as the OTLP specification requires)."""
    payload = json_format.MessageToDict(request)
    for rl in payload.get("resourceLogs", []):
        for sl in rl.get("scopeLogs", []):
            for record in sl.get("logRecords", []):
                for key in ("traceId", "spanId"):
                    if record.get(key):
                        record[key] = base64.b64decode(record[key]).hex()
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


# --- metrics ----------------------------------------------------------------------------------


def _point_value(point: Any) -> float:
    which = point.WhichOneof("value")
    if which is None:
        raise InvalidRecord("data point has no value")
    value = float(getattr(point, which))
    if not math.isfinite(value):
        raise InvalidRecord(f"data point value {value} is not finite")
    return value


def _metric_points(metric: Metric, resource: dict[str, AttrValue], scope_name: str) -> list[MetricPointData]:
    """The metric's points; raises InvalidRecord for the whole metric when one point is bad."""
    which = metric.WhichOneof("data")
    if not metric.name:
        raise InvalidRecord("metric has no name")
    common = {"name": metric.name, "unit": metric.unit, "resource": resource, "scope_name": scope_name}
    points: list[MetricPointData] = []
    if which in ("sum", "gauge"):
        data = getattr(metric, which)
        temporality = (
            TEMPORALITIES[data.aggregation_temporality]
            if which == "sum" and 0 <= data.aggregation_temporality < 3
            else "UNSPECIFIED"
        )
        for p in data.data_points:
            points.append(
                MetricPointData(
                    kind=which, temporality=temporality,
                    is_monotonic=bool(which == "sum" and data.is_monotonic),
                    start_time_unix_nano=p.start_time_unix_nano, time_unix_nano=_time(p.time_unix_nano),
                    value=_point_value(p), count=None, buckets=None,
                    attributes=_attributes(p.attributes), **common,
                )
            )  # fmt: skip
    elif which == "histogram":
        data = metric.histogram
        temporality = (
            TEMPORALITIES[data.aggregation_temporality]
            if 0 <= data.aggregation_temporality < 3
            else "UNSPECIFIED"
        )
        for p in data.data_points:
            bounds = [*p.explicit_bounds, math.inf]
            if p.bucket_counts and len(p.bucket_counts) != len(bounds):
                raise InvalidRecord("histogram bucketCounts must have one more entry than explicitBounds")
            total = float(p.sum) if p.HasField("sum") else 0.0
            if not math.isfinite(total):
                raise InvalidRecord("histogram sum is not finite")
            points.append(
                MetricPointData(
                    kind="histogram", temporality=temporality, is_monotonic=False,
                    start_time_unix_nano=p.start_time_unix_nano, time_unix_nano=_time(p.time_unix_nano),
                    value=total, count=int(p.count), buckets=tuple(zip(bounds, map(int, p.bucket_counts), strict=False)),
                    attributes=_attributes(p.attributes), **common,
                )
            )  # fmt: skip
    else:
        raise InvalidRecord(f"metric type {which!r} is not stored (sum, gauge and histogram are)")
    return points


def _time(unix_nano: int) -> int:
    if unix_nano <= 0:
        raise InvalidRecord("timeUnixNano must be set")
    return unix_nano


def _count_points(metric: Metric) -> int:
    which = metric.WhichOneof("data")
    return len(getattr(metric, which).data_points) if which else 1


def _add_metric(
    batch: DecodedMetrics, out: Any, metric: Metric, resource: dict[str, AttrValue], scope_name: str
) -> None:
    try:
        batch.points.extend(_metric_points(metric, resource, scope_name))
    except InvalidRecord as exc:
        batch.reject(f"metric {metric.name[:80]!r}: {exc}", max(_count_points(metric), 1))
        return
    out.add().CopyFrom(metric)


def decode_metrics_request(request: ExportMetricsServiceRequest) -> DecodedMetrics:
    batch = DecodedMetrics()
    for resource_metrics in request.resource_metrics:
        resource = _attributes(resource_metrics.resource.attributes)
        out_rm = batch.accepted.resource_metrics.add()
        out_rm.resource.CopyFrom(resource_metrics.resource)
        for scope_metrics in resource_metrics.scope_metrics:
            out_sm = out_rm.scope_metrics.add()
            out_sm.scope.CopyFrom(scope_metrics.scope)
            for metric in scope_metrics.metrics:
                _add_metric(batch, out_sm.metrics, metric, resource, scope_metrics.scope.name)
    return batch


def decode_metrics_protobuf(body: bytes) -> DecodedMetrics:
    request = ExportMetricsServiceRequest()
    _parse_protobuf(request, body, "ExportMetricsServiceRequest")
    return decode_metrics_request(request)


def _without_exemplars(metric: Any) -> Any:
    """Exemplars carry hex ids the protobuf JSON parser cannot read; they are not stored."""
    if not isinstance(metric, dict):
        return metric
    metric = dict(metric)
    for kind in ("sum", "gauge", "histogram", "exponentialHistogram", "summary"):
        data = metric.get(kind)
        if isinstance(data, dict) and isinstance(data.get("dataPoints"), list):
            data = dict(data)
            data["dataPoints"] = [
                {k: v for k, v in p.items() if k != "exemplars"} if isinstance(p, dict) else p
                for p in data["dataPoints"]
            ]
            metric[kind] = data
    return metric


def decode_metrics_json_object(payload: Any) -> DecodedMetrics:
    """One OTLP/JSON ExportMetricsServiceRequest object, metric by metric."""
    top = _list_field(payload, "resourceMetrics", "resource_metrics")
    if top is None:
        raise MalformedRequest("OTLP/JSON metrics body must be an object with a resourceMetrics array")
    batch = DecodedMetrics()
    for rm in top:
        scopes = _list_field(rm, "scopeMetrics", "scope_metrics")
        if scopes is None:
            batch.reject("resourceMetrics entry is not an object with a scopeMetrics array")
            continue
        try:
            resource_pb = _parse_dict(rm.get("resource") or {}, Resource())
        except _PARSE_ERRORS as exc:
            batch.reject(f"invalid resource: {exc}")
            continue
        resource = _attributes(resource_pb.attributes)
        out_rm = batch.accepted.resource_metrics.add()
        out_rm.resource.CopyFrom(resource_pb)
        for sm in scopes:
            metrics = _list_field(sm, "metrics")
            if metrics is None:
                batch.reject("scopeMetrics entry is not an object with a metrics array")
                continue
            out_sm = out_rm.scope_metrics.add()
            scope = sm.get("scope")
            if isinstance(scope, dict) and isinstance(scope.get("name"), str):
                out_sm.scope.name = scope["name"]
            for obj in metrics:
                try:
                    metric = _parse_dict(_without_exemplars(obj), Metric())
                except (*_PARSE_ERRORS, AttributeError) as exc:
                    batch.reject(f"metric: {exc}")
                    continue
                _add_metric(batch, out_sm.metrics, metric, resource, out_sm.scope.name)
    return batch


def decode_metrics_json(body: bytes) -> DecodedMetrics:
    return decode_metrics_json_object(_load_json(body))


def metrics_request_to_otlp_json(request: ExportMetricsServiceRequest) -> bytes:
    for rm in request.resource_metrics:  # exemplar ids would need hex; exemplars are not stored
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                which = metric.WhichOneof("data")
                if which:
                    for point in getattr(metric, which).data_points:
                        if hasattr(point, "exemplars"):
                            del point.exemplars[:]
    return json.dumps(json_format.MessageToDict(request), separators=(",", ":")).encode("utf-8")
