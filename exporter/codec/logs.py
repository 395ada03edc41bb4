"""OTLP ``ExportLogsServiceRequest`` (protobuf or OTLP/JSON) -> LogRecordData, record by record.

As spans are decoded (``codec.traces``): a log record that cannot be stored is rejected with a
reason and the rest of the request is kept, for ``partial_success``. Each decoded batch can also
give the accepted records as a request again (``accepted``), which is what the collector queues on
disk when the database does not answer: it keeps references to the accepted messages and copies
them only then, not on every request.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from traceability.exporter.codec.common import (
    PARSE_ERRORS,
    InvalidRecord,
    MalformedRequest,
    Rejections,
    any_value,
    attributes,
    ids_to_base64,
    list_field,
    load_json,
    parse_dict,
    parse_protobuf,
    scope_name,
)
from traceability.exporter.codec.native_records import LogRecordData
from traceability.exporter.codec.records import AttrValue
from traceability.exporter.codec.wire_attributes import decode_any_value, decode_attributes
from traceability.exporter.codec.wire_logs import new_request, to_otlp

# The accepted log records of one resource, by scope: (resource, [(scope, [record, ...]), ...]).
_Kept = tuple[Resource, list[tuple[InstrumentationScope, list[LogRecord]]]]
# The same for a wire request (``wire_logs``): resource and scope as their bytes, wire records.
_WireKept = tuple[bytes, list[tuple[bytes, list[Any]]]]


@dataclass
class DecodedLogs(Rejections):
    records: list[LogRecordData] = field(default_factory=list)
    # builds the accepted records as a request again, from references to the accepted messages
    rebuild: Callable[[], ExportLogsServiceRequest] = ExportLogsServiceRequest

    @property
    def items(self) -> list[LogRecordData]:
        return self.records

    @property
    def accepted(self) -> ExportLogsServiceRequest:
        """The accepted records as a request again (built on each call)."""
        return self.rebuild()


def _rebuild_json(kept: list[_Kept]) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    for resource, scopes in kept:
        out_rl = request.resource_logs.add()
        out_rl.resource.CopyFrom(resource)
        for scope, records in scopes:
            out_sl = out_rl.scope_logs.add()
            out_sl.scope.CopyFrom(scope)
            out_sl.log_records.extend(records)
    return request


def _rebuild_wire(request: Any, kept: list[_WireKept], whole: bool) -> ExportLogsServiceRequest:
    """The wire request itself when every record was accepted, else the kept ones."""
    if whole:
        return to_otlp(request)
    out = new_request()
    for resource, scopes in kept:
        out_rl = out.resource_logs.add()
        out_rl.resource = resource
        for scope, records in scopes:
            out_sl = out_rl.scope_logs.add()
            out_sl.scope = scope
            out_sl.log_records.extend(records)
    return to_otlp(out)


def _hex_id(raw: bytes, digits: int, what: str) -> str | None:
    if not raw:
        return None
    value = raw.hex()
    if len(value) != digits:
        raise InvalidRecord(f"{what} must be {digits} hex digits, got {value[:64]!r}")
    return None if value == "0" * digits else value


def _body(value: AnyValue) -> AttrValue:
    text = value.string_value  # a Claude Code event's body is its name: a non-empty string is the value set
    if text:
        return text
    return any_value(value) if value.WhichOneof("value") else None


def _record_data(
    record: Any, severity_text: str, body: AttrValue, attrs: dict[str, AttrValue],
    resource: dict[str, AttrValue], scope_name: str,
) -> LogRecordData:  # fmt: skip
    """A LogRecordData from what both record types decode alike (times, severity, ids), read from
    ``record``, and what each decodes its own way."""
    when = record.time_unix_nano or record.observed_time_unix_nano
    if when <= 0:
        raise InvalidRecord("timeUnixNano or observedTimeUnixNano must be set")
    return LogRecordData(
        time_unix_nano=when,
        observed_time_unix_nano=record.observed_time_unix_nano,
        severity_number=record.severity_number,
        severity_text=severity_text,
        body=body,
        attributes=attrs,
        trace_id=_hex_id(record.trace_id, 32, "traceId"),
        span_id=_hex_id(record.span_id, 16, "spanId"),
        resource=resource,
        scope_name=scope_name,
    )


def _log_record(record: LogRecord, resource: dict[str, AttrValue], scope_name: str) -> LogRecordData:
    body, attrs = _body(record.body), attributes(record.attributes)
    return _record_data(record, record.severity_text, body, attrs, resource, scope_name)


def _add_log(
    batch: DecodedLogs,
    kept: list[Any],
    record: Any,
    resource: dict[str, AttrValue],
    scope_name: str,
    decode: Callable[[Any, dict[str, AttrValue], str], LogRecordData] = _log_record,
) -> None:
    """The record decoded into the batch and kept (for ``accepted``), or rejected with its reason."""
    try:
        batch.records.append(decode(record, resource, scope_name))
    except InvalidRecord as exc:
        batch.reject(f"log record: {exc}")
        return
    kept.append(record)


def _wire_log_record(record: Any, resource: dict[str, AttrValue], scope_name: str) -> LogRecordData:
    """``_log_record`` for a ``wire_logs`` record (same values, same refusals)."""
    try:
        severity_text = record.severity_text.decode()
    except UnicodeDecodeError:
        raise InvalidRecord("severityText is not valid UTF-8") from None
    body, attrs = decode_any_value(record.body), decode_attributes(record.attributes)
    return _record_data(record, severity_text, body, attrs, resource, scope_name)


def _wire_part(message: type[Message], raw: bytes) -> Any:
    try:
        return message.FromString(raw)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise InvalidRecord(f"invalid {message.DESCRIPTOR.name}: {exc}") from None


def decode_logs_protobuf(body: bytes) -> DecodedLogs:
    """A protobuf ExportLogsServiceRequest, record by record (parsed as ``wire_logs``: attributes
    are decoded from their bytes). A resource or scope that is not valid protobuf rejects its records."""
    request = new_request()
    parse_protobuf(request, body, "ExportLogsServiceRequest")
    batch = DecodedLogs()
    kept_all: list[_WireKept] = []
    for resource_logs in request.resource_logs:
        try:
            resource = attributes(_wire_part(Resource, resource_logs.resource).attributes)
        except InvalidRecord as exc:
            batch.reject(str(exc), sum(len(s.log_records) for s in resource_logs.scope_logs) or 1)
            continue
        scopes: list[tuple[bytes, list[Any]]] = []
        kept_all.append((resource_logs.resource, scopes))
        for scope_logs in resource_logs.scope_logs:
            try:
                name = _wire_part(InstrumentationScope, scope_logs.scope).name
            except InvalidRecord as exc:
                batch.reject(str(exc), len(scope_logs.log_records) or 1)
                continue
            kept: list[Any] = []
            scopes.append((scope_logs.scope, kept))
            for record in scope_logs.log_records:
                _add_log(batch, kept, record, resource, name, _wire_log_record)
    batch.rebuild = functools.partial(_rebuild_wire, request, kept_all, batch.rejected == 0)
    return batch


def decode_logs_json_object(payload: Any) -> DecodedLogs:
    """One OTLP/JSON ExportLogsServiceRequest object, record by record."""
    top = list_field(payload, "resourceLogs", "resource_logs")
    if top is None:
        raise MalformedRequest("OTLP/JSON logs body must be an object with a resourceLogs array")
    batch = DecodedLogs()
    kept_all: list[_Kept] = []
    batch.rebuild = functools.partial(_rebuild_json, kept_all)
    for rl in top:
        scopes = list_field(rl, "scopeLogs", "scope_logs")
        if scopes is None:
            batch.reject("resourceLogs entry is not an object with a scopeLogs array")
            continue
        try:
            resource_pb = parse_dict(rl.get("resource") or {}, Resource())
        except PARSE_ERRORS as exc:
            batch.reject(
                f"invalid resource: {exc}", sum(len(list_field(s, "logRecords") or []) for s in scopes) or 1
            )
            continue
        resource = attributes(resource_pb.attributes)
        kept_scopes: list[tuple[InstrumentationScope, list[LogRecord]]] = []
        kept_all.append((resource_pb, kept_scopes))
        for sl in scopes:
            records = list_field(sl, "logRecords", "log_records")
            if records is None:
                batch.reject("scopeLogs entry is not an object with a logRecords array")
                continue
            scope = InstrumentationScope(name=scope_name(sl))
            kept: list[LogRecord] = []
            kept_scopes.append((scope, kept))
            for obj in records:
                try:
                    record = parse_dict(
                        ids_to_base64(obj, ("traceId", "spanId", "trace_id", "span_id")), LogRecord()
                    )
                except (*PARSE_ERRORS, AttributeError) as exc:
                    batch.reject(f"log record: {exc}")
                    continue
                _add_log(batch, kept, record, resource, scope.name)
    return batch


def decode_logs_json(body: bytes) -> DecodedLogs:
    return decode_logs_json_object(load_json(body))


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
