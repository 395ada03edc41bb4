"""A logs request type that is wire-compatible with OTLP's ``ExportLogsServiceRequest`` and keeps
each log record's attributes, its body, and each resource and scope as their serialized bytes.

Parsing a body with it costs what parsing it with the OTLP type costs, but reading a record's
attributes is then a list of bytes (decoded by ``wire_attributes``, which remembers repeated ones)
instead of a protobuf object per attribute and per value. Fields it does not declare stay in the
messages as unknown fields, so the accepted records serialize back to the very bytes they came in as
(``to_otlp``).

The types are built from a descriptor at first use: no generated code, nothing at import time.
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor_pb2 import FieldDescriptorProto
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

_PACKAGE = "traceability.wire.logs"
_ONE, _MANY = FieldDescriptorProto.LABEL_OPTIONAL, FieldDescriptorProto.LABEL_REPEATED
_BYTES, _FIXED64, _INT32, _MESSAGE = (
    FieldDescriptorProto.TYPE_BYTES,
    FieldDescriptorProto.TYPE_FIXED64,
    FieldDescriptorProto.TYPE_INT32,
    FieldDescriptorProto.TYPE_MESSAGE,
)
# (message, [(field, number, type, label, message type)]), numbered as in opentelemetry/proto/logs/v1
_MESSAGES: tuple[tuple[str, tuple[tuple[str, int, int, int, str], ...]], ...] = (
    (
        "LogRecord",
        (
            ("time_unix_nano", 1, _FIXED64, _ONE, ""),
            ("severity_number", 2, _INT32, _ONE, ""),  # an enum on the wire is its varint
            ("severity_text", 3, _BYTES, _ONE, ""),  # a string: UTF-8 checked when it is read
            ("body", 5, _BYTES, _ONE, ""),  # an AnyValue
            ("attributes", 6, _BYTES, _MANY, ""),  # KeyValues
            ("trace_id", 9, _BYTES, _ONE, ""),
            ("span_id", 10, _BYTES, _ONE, ""),
            ("observed_time_unix_nano", 11, _FIXED64, _ONE, ""),
        ),
    ),
    (
        "ScopeLogs",
        (
            ("scope", 1, _BYTES, _ONE, ""),  # an InstrumentationScope
            ("log_records", 2, _MESSAGE, _MANY, "LogRecord"),
        ),
    ),
    (
        "ResourceLogs",
        (
            ("resource", 1, _BYTES, _ONE, ""),  # a Resource
            ("scope_logs", 2, _MESSAGE, _MANY, "ScopeLogs"),
        ),
    ),
    ("ExportLogsServiceRequest", (("resource_logs", 1, _MESSAGE, _MANY, "ResourceLogs"),)),
)


@functools.cache
def _types() -> dict[str, Any]:
    """The four message classes, by name (built once per process, in a pool of their own)."""
    file = descriptor_pb2.FileDescriptorProto(name="traceability_wire_logs.proto", package=_PACKAGE)
    file.syntax = "proto3"
    for name, fields in _MESSAGES:
        message = file.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            field = message.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = f".{_PACKAGE}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name, _ in _MESSAGES
    }


def new_request() -> Any:
    """An empty wire logs request (``ParseFromString`` it, or fill it with kept records)."""
    return _types()["ExportLogsServiceRequest"]()


def to_otlp(request: Any) -> ExportLogsServiceRequest:
    """The same request as OTLP's own type (the wire bytes are the same)."""
    otlp = ExportLogsServiceRequest()
    otlp.ParseFromString(request.SerializeToString())
    return otlp
