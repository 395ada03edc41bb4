"""OTLP ``ExportMetricsServiceRequest`` (protobuf or OTLP/JSON) -> MetricPointData, metric by metric.

A metric with a point that cannot be stored is rejected with a reason and the rest of the request
is kept, for ``partial_success``; the accepted metrics are kept as a request too (``codec.logs``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, TypedDict

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from traceability.exporter.codec.common import (
    PARSE_ERRORS,
    InvalidRecord,
    MalformedRequest,
    Rejections,
    attributes,
    list_field,
    load_json,
    parse_dict,
    parse_protobuf,
    scope_name,
)
from traceability.exporter.codec.native_records import TEMPORALITIES, MetricPointData
from traceability.exporter.codec.records import AttrValue


@dataclass
class DecodedMetrics(Rejections):
    points: list[MetricPointData] = field(default_factory=list)
    accepted: ExportMetricsServiceRequest = field(default_factory=ExportMetricsServiceRequest)

    @property
    def items(self) -> list[MetricPointData]:
        return self.points


# --- metrics ----------------------------------------------------------------------------------


def _point_value(point: Any) -> float:
    which = point.WhichOneof("value")
    if which is None:
        raise InvalidRecord("data point has no value")
    value = float(getattr(point, which))
    if not math.isfinite(value):
        raise InvalidRecord(f"data point value {value} is not finite")
    return value


class _PointCommon(TypedDict):
    """The fields every point of one metric shares."""

    name: str
    unit: str
    resource: dict[str, AttrValue]
    scope_name: str


def _metric_points(metric: Metric, resource: dict[str, AttrValue], scope_name: str) -> list[MetricPointData]:
    """The metric's points; raises InvalidRecord for the whole metric when one point is bad."""
    which = metric.WhichOneof("data")
    if not metric.name:
        raise InvalidRecord("metric has no name")
    common = _PointCommon(name=metric.name, unit=metric.unit, resource=resource, scope_name=scope_name)
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
                    attributes=attributes(p.attributes), **common,
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
                    attributes=attributes(p.attributes), **common,
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
        resource = attributes(resource_metrics.resource.attributes)
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
    parse_protobuf(request, body, "ExportMetricsServiceRequest")
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
    top = list_field(payload, "resourceMetrics", "resource_metrics")
    if top is None:
        raise MalformedRequest("OTLP/JSON metrics body must be an object with a resourceMetrics array")
    batch = DecodedMetrics()
    for rm in top:
        scopes = list_field(rm, "scopeMetrics", "scope_metrics")
        if scopes is None:
            batch.reject("resourceMetrics entry is not an object with a scopeMetrics array")
            continue
        try:
            resource_pb = parse_dict(rm.get("resource") or {}, Resource())
        except PARSE_ERRORS as exc:
            batch.reject(f"invalid resource: {exc}")
            continue
        resource = attributes(resource_pb.attributes)
        out_rm = batch.accepted.resource_metrics.add()
        out_rm.resource.CopyFrom(resource_pb)
        for sm in scopes:
            metrics = list_field(sm, "metrics")
            if metrics is None:
                batch.reject("scopeMetrics entry is not an object with a metrics array")
                continue
            out_sm = out_rm.scope_metrics.add()
            out_sm.scope.name = scope_name(sm)
            for obj in metrics:
                try:
                    metric = parse_dict(_without_exemplars(obj), Metric())
                except (*PARSE_ERRORS, AttributeError) as exc:
                    batch.reject(f"metric: {exc}")
                    continue
                _add_metric(batch, out_sm.metrics, metric, resource, out_sm.scope.name)
    return batch


def decode_metrics_json(body: bytes) -> DecodedMetrics:
    return decode_metrics_json_object(load_json(body))


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
