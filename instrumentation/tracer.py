"""``ExecutionTracer``: the tracing API of the README's "Tracing from Python" section, on the OpenTelemetry SDK.

One ``start_trace`` = one OTel trace whose id is the correlation id (a UUID; its hex is the Jaeger
trace id). The trace's root span (``claude_code.turn``, ``traceability.span.type=turn``) stays
open until ``complete_trace``; every ``track_hook_execution`` is a finished child span that ends
now and started ``duration_ms`` ago. A child never starts before its turn: the root starts at the
earliest of ``start_trace`` and its children's starts (a hook reported as running for 450 ms that
ends 1 ms after ``start_trace`` means the turn's work began 449 ms before it was opened; its
children keep their measured durations). For a trace started elsewhere the tracer cannot move the
root, so there the child's start is the caller's responsibility. Spans go to OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or the argument) is set, else to the spool, through a ``BatchSpanProcessor``.

No method raises into its caller: errors are logged and the call returns (telemetry never breaks the host).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from traceability.instrumentation import semconv as sc
from traceability.instrumentation.env_context import read_env_correlation
from traceability.instrumentation.export_target import (
    ExportTarget,
    ObservedExporter,
    build_exporter,
    probe,
)
from traceability.instrumentation.ids import format_trace_uuid, parse_trace_uuid, turn_span_id
from traceability.instrumentation.pinned_ids import PinnedIdGenerator
from traceability.instrumentation.resource import build_resource
from traceability.instrumentation.tracer_attributes import (
    exception_type_name,
    hook_attributes,
    turn_attributes,
)
from traceability.instrumentation.tracer_health import TracerHealth, health_report
from traceability.instrumentation.tracer_support import (
    ForeignOrders,
    OpenTrace,
    TraceContext,
    duration_ns,
    never_raise,
    parse_uuid_arg,
)
from traceability.instrumentation.version import package_version

log = logging.getLogger(__name__)


class ExecutionTracer:
    """The tracing API of the README's "Tracing from Python" section, on the OTel SDK.

    Settings are resolved argument, else environment, else default:

    - ``otlp_endpoint``: base OTLP/HTTP URL, else ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` /
      ``OTEL_EXPORTER_OTLP_ENDPOINT``; when none is set, spans go to the spool.
    - ``spool_dir``: else ``TRACEABILITY_SPOOL_DIR``, else ``~/.local/state/traceability/spool``.
    - ``service_name`` / ``service_version``: else ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``,
      else ``claude-code-hooks`` / the package version.
    - ``span_exporter``: export there instead (behind a ``BatchSpanProcessor``);
      ``span_processor``: use this processor as is (e.g. ``SimpleSpanProcessor`` in tests).
    - ``id_generator``: where new trace/span ids come from (default: random, UUID4 trace ids);
      ``clock``: nanoseconds since the epoch (default ``time.time_ns``).
    """

    def __init__(
        self,
        *,
        otlp_endpoint: str | None = None,
        spool_dir: str | None = None,
        service_name: str | None = None,
        service_version: str | None = None,
        span_exporter: SpanExporter | None = None,
        span_processor: SpanProcessor | None = None,
        id_generator: IdGenerator | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._observed: ObservedExporter | None = None
        if span_processor is not None:
            processor = span_processor
            self.target = ExportTarget("custom", type(span_processor).__name__)
        else:
            if span_exporter is not None:
                exporter, self.target = span_exporter, ExportTarget("custom", type(span_exporter).__name__)
            else:
                exporter, self.target = build_exporter(otlp_endpoint, spool_dir)
            self._observed = ObservedExporter(exporter)
            processor = BatchSpanProcessor(self._observed)
        self._ids = PinnedIdGenerator(id_generator)
        self._clock = clock or time.time_ns
        self._provider = TracerProvider(
            resource=build_resource(service_name, service_version),
            id_generator=self._ids,
            sampler=ALWAYS_ON,  # an audit trail: every turn is recorded, whatever the caller sampled
            shutdown_on_exit=False,  # our own atexit hook also ends open traces first
        )
        self._provider.add_span_processor(processor)
        self._tracer = self._provider.get_tracer(sc.INSTRUMENTATION_SCOPE, package_version())
        self._lock = threading.Lock()
        self._open: dict[int, OpenTrace] = {}
        self._foreign_orders = ForeignOrders()
        self._shut_down = False
        atexit.register(self._shutdown_now)

    async def start_trace(
        self,
        source: str,
        prompt_text: str,
        session_id: str,
        correlation_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        *,
        root_id: str | None = None,
        parent_id: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """Open a trace (its root span) and return its correlation id, a UUID string == the trace id.

        Correlation id: ``correlation_id``, else ``$CORRELATION_ID``, else the trace id of
        ``$TRACEPARENT``, else a new UUID4. When ``$TRACEPARENT`` is in the same trace the root
        becomes a child of that span; when it is another trace it is linked, and that trace is
        the ``parent_id`` unless one is given. ``root_id``: argument, else ``$ROOT_ID``, else the
        correlation id; ``parent_id``: argument, else ``$PARENT_ID``.
        """
        trace_id: int | None = None
        with never_raise("start_trace"):
            env = read_env_correlation()
            remote = env.remote_parent
            trace_id = (
                parse_uuid_arg("correlation_id", correlation_id)
                or parse_trace_uuid(env.correlation_id)
                or (remote.trace_id if remote else None)
                or self._ids.fallback.generate_trace_id()
            )
            corr = format_trace_uuid(trace_id)
            if self._shut_down:
                log.warning("ExecutionTracer.start_trace after shutdown: trace %s is not recorded", corr)
                return corr
            span_id = turn_span_id(trace_id)
            parent_ctx = otel_context.Context()  # never the host's ambient span: the trace id is ours
            links: list[Link] = []
            linked_parent: str | None = None
            if remote is not None and remote.trace_id == trace_id and remote.span_id != span_id:
                parent_ctx = trace.set_span_in_context(NonRecordingSpan(remote), parent_ctx)
            elif remote is not None and remote.trace_id != trace_id:
                links.append(Link(remote))
                linked_parent = format_trace_uuid(remote.trace_id)
            root = parse_uuid_arg("root_id", root_id) or parse_trace_uuid(env.root_id) or trace_id
            parent = parse_uuid_arg("parent_id", parent_id) or parse_trace_uuid(env.parent_id)
            attributes = turn_attributes(
                source=source,
                prompt_text=prompt_text,
                session_id=session_id,
                root_id=format_trace_uuid(root),
                parent_id=format_trace_uuid(parent) if parent else linked_parent,
                user_id=user_id,
                context=context,
                tags=tags,
            )
            with self._lock:
                if trace_id in self._open:
                    log.warning("ExecutionTracer.start_trace: trace %s is already open", corr)
                    return corr
                self._open[trace_id] = OpenTrace(
                    trace_id, self._clock(), parent_ctx, attributes, links, session_id or None
                )
        if trace_id is None:  # failed before an id existed: still hand the caller a usable one
            return str(uuid.uuid4())
        return format_trace_uuid(trace_id)

    async def track_hook_execution(
        self,
        correlation_id: str,
        hook_name: str,
        tool_name: str | None,
        duration_ms: float,
        success: bool = True,
        quality_results: Mapping[str, Any] | None = None,
        quality_check_performed: bool = False,
        rag_query_performed: bool = False,
        rag_results: Mapping[str, Any] | None = None,
        file_path: str | None = None,
        *,
        hook_type: str | None = None,
        input_data: Any = None,
        output_data: Any = None,
        modifications_made: Any = None,
        metadata: Any = None,
        error: BaseException | None = None,
        quality_score: float | None = None,
        session_id: str | None = None,
    ) -> None:
        """Record one finished hook execution (a child span that ended now, ``duration_ms`` long).

        The hook type is ``hook_type``, else inferred from the name (``infer_hook_type``). A span that
        starts before its open turn moves the turn's start back (see the module docstring). For a
        trace this tracer did not start, the span's parent is ``$TRACEPARENT`` when it is in that
        trace, else the trace's root span id (``ids.turn_span_id``), so it still nests under the turn.
        """
        with never_raise("track_hook_execution"):
            trace_id = parse_uuid_arg("correlation_id", correlation_id)
            if trace_id is None:
                return
            if self._shut_down:
                log.warning("ExecutionTracer.track_hook_execution after shutdown: %s not recorded", hook_name)
                return
            end = self._clock()
            start = end - duration_ns(duration_ms)
            with self._lock:
                open_trace = self._open.get(trace_id)
                if open_trace is not None:
                    open_trace.execution_order += 1
                    order = open_trace.execution_order
                    open_trace.start_ns = min(open_trace.start_ns, start)
                    parent_span: trace.Span = NonRecordingSpan(open_trace.span_context())
                    session = session_id or open_trace.session_id
                else:
                    order = self._foreign_orders.next(trace_id)
                    parent_span = NonRecordingSpan(self._foreign_parent(trace_id))
                    session = session_id
            attributes = hook_attributes(
                hook_name=hook_name,
                hook_type=hook_type,
                execution_order=order,
                tool_name=tool_name,
                success=success,
                session_id=session,
                file_path=file_path,
                input_data=input_data,
                output_data=output_data,
                modifications_made=modifications_made,
                metadata=metadata,
                quality_check_performed=quality_check_performed,
                quality_results=quality_results,
                quality_score=quality_score,
                rag_query_performed=rag_query_performed,
                rag_results=rag_results,
                error=error,
            )
            span = self._tracer.start_span(
                sc.hook_span_name(hook_name),
                context=trace.set_span_in_context(parent_span, otel_context.Context()),
                kind=SpanKind.INTERNAL,
                attributes=attributes,
                start_time=start,
            )
            if error is not None:
                span.record_exception(error, timestamp=end)
            if not success:
                span.set_status(Status(StatusCode.ERROR, str(error) if error is not None else None))
            span.end(end_time=end)

    async def complete_trace(
        self, correlation_id: str, success: bool, error: BaseException | None = None
    ) -> None:
        """End the trace's root span: status completed/failed, and the error as an exception event."""
        with never_raise("complete_trace"):
            trace_id = parse_uuid_arg("correlation_id", correlation_id)
            if trace_id is None:
                return
            with self._lock:
                open_trace = self._open.pop(trace_id, None)
            if open_trace is None:
                log.warning(
                    "ExecutionTracer.complete_trace: trace %s was not started by this tracer (or is "
                    "already complete); nothing to end",
                    correlation_id,
                )
                return
            self._end_turn(open_trace, success, error)

    @asynccontextmanager
    async def trace_execution(
        self,
        source: str,
        prompt_text: str,
        session_id: str,
        correlation_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        *,
        user_id: str | None = None,
    ) -> AsyncIterator[TraceContext]:
        """``start_trace`` on entry, ``complete_trace`` on exit (failed, with the exception, if the
        body raised; the body's exception is re-raised, the tracer's own never are)."""
        corr = await self.start_trace(
            source, prompt_text, session_id, correlation_id, context, tags, user_id=user_id
        )
        trace_ctx = TraceContext(corr, self)
        try:
            yield trace_ctx
        except BaseException as exc:
            await self.complete_trace(corr, success=False, error=exc)
            raise
        await self.complete_trace(corr, success=True)

    # --- lifecycle -------------------------------------------------------------------------

    async def health_check(self) -> TracerHealth:
        """Probe the export target (TCP connect to the OTLP endpoint, or a test file in the spool)
        and report how the last export went. Unhealthy after shutdown, when the target is
        unreachable, or when the last export failed."""
        reachable: bool | None = None
        detail = "health check failed"
        with never_raise("health_check"):
            reachable, detail = await probe(self.target)
        with self._lock:
            open_traces = len(self._open)
        return health_report(
            kind=self.target.kind,
            target=self.target.location,
            reachable=reachable,
            detail=detail,
            observed=self._observed,
            open_traces=open_traces,
            shut_down=self._shut_down,
        )

    async def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export every finished span now; True when that completed in time."""
        flushed = False
        with never_raise("force_flush"):
            flushed = await asyncio.to_thread(self._provider.force_flush, timeout_millis)
        return flushed

    async def shutdown(self) -> None:
        """End still-open traces (status ``abandoned``), flush, and stop. Idempotent; also run at exit."""
        with never_raise("shutdown"):
            await asyncio.to_thread(self._shutdown_now)

    close = shutdown  # an alias, for callers that close a tracer rather than shut it down

    # --- internals -------------------------------------------------------------------------

    def _foreign_parent(self, trace_id: int) -> SpanContext:
        remote = read_env_correlation().remote_parent
        if remote is not None and remote.trace_id == trace_id:
            return remote
        return SpanContext(
            trace_id, turn_span_id(trace_id), is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
        )

    def _end_turn(
        self, turn: OpenTrace, success: bool, error: BaseException | None, abandoned: bool = False
    ) -> None:
        end = self._clock()
        with self._ids.pin(turn.trace_id, turn_span_id(turn.trace_id)):
            span = self._tracer.start_span(
                sc.SPAN_NAME_TURN,
                context=turn.parent_ctx,
                kind=SpanKind.INTERNAL,
                attributes=turn.attributes,
                links=turn.links,
                start_time=min(turn.start_ns, end),
            )
        if abandoned:
            status = sc.TRACE_STATUS_ABANDONED
        else:
            status = sc.TRACE_STATUS_COMPLETED if success else sc.TRACE_STATUS_FAILED
        span.set_attribute(sc.TRACE_STATUS, status)
        span.set_attribute(sc.SUCCESS, success)
        if error is not None:
            span.set_attribute(sc.ERROR_TYPE, exception_type_name(error))
            span.record_exception(error, timestamp=end)
        if not success:
            span.set_status(Status(StatusCode.ERROR, str(error) if error is not None else None))
        span.end(end_time=end)

    def _shutdown_now(self) -> None:
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
            abandoned = list(self._open.values())
            self._open.clear()
        atexit.unregister(self._shutdown_now)
        for open_trace in abandoned:
            with never_raise("shutdown"):
                self._end_turn(open_trace, success=False, error=None, abandoned=True)
        self._provider.shutdown()
