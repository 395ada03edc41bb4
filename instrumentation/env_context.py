"""Correlation context a parent process hands down through the environment.

- ``CORRELATION_ID``, ``ROOT_ID``, ``PARENT_ID``: UUIDs a parent process that traces sets for its children.
- ``TRACEPARENT`` / ``TRACESTATE``: W3C trace context, the OTel convention for environment
  carriers (upper-case names), extracted with OTel's W3C ``TraceContextTextMapPropagator`` (not
  the global one: a bad ``OTEL_PROPAGATORS`` would make importing ``opentelemetry.propagate`` raise).
Invalid values are logged and ignored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from traceability.instrumentation.env import (
    CORRELATION_ID_ENV,
    PARENT_ID_ENV,
    ROOT_ID_ENV,
    TRACEPARENT_ENV,
    TRACESTATE_ENV,
)
from traceability.instrumentation.ids import format_trace_uuid, parse_trace_uuid

log = logging.getLogger(__name__)

_W3C_ENV = (TRACEPARENT_ENV, TRACESTATE_ENV)


@dataclass(frozen=True)
class EnvCorrelation:
    correlation_id: str | None
    root_id: str | None
    parent_id: str | None
    remote_parent: trace.SpanContext | None  # from TRACEPARENT, when valid


def _uuid_env(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name)
    if not raw:
        return None
    trace_id = parse_trace_uuid(raw)
    if trace_id is None:
        log.warning("ignoring %s=%r: not a UUID", name, raw[:64])
        return None
    return format_trace_uuid(trace_id)


def _remote_parent(environ: Mapping[str, str]) -> trace.SpanContext | None:
    carrier = {name.lower(): environ[name] for name in _W3C_ENV if environ.get(name)}
    if "traceparent" not in carrier:
        return None
    span_context = trace.get_current_span(TraceContextTextMapPropagator().extract(carrier)).get_span_context()
    if not span_context.is_valid:
        log.warning("ignoring TRACEPARENT=%r: not a valid W3C traceparent", carrier["traceparent"][:80])
        return None
    return span_context


def read_env_correlation(environ: Mapping[str, str] | None = None) -> EnvCorrelation:
    env = os.environ if environ is None else environ
    return EnvCorrelation(
        correlation_id=_uuid_env(env, CORRELATION_ID_ENV),
        root_id=_uuid_env(env, ROOT_ID_ENV),
        parent_id=_uuid_env(env, PARENT_ID_ENV),
        remote_parent=_remote_parent(env),
    )
