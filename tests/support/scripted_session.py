"""Scripted Claude Code sessions as OTel span records, stored through the real exporter (SpanWriter).

A turn is a root span (traceability.span.type=turn); each Write/Edit/MultiEdit is a tool span
carrying the code it wrote, exactly as the hooks emit them (see docs/span-contract.md).
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

from traceability.exporter.codec.records import AttrValue, SpanRecord
from traceability.exporter.storage.database import create_pool
from traceability.exporter.storage.writer import SpanWriter
from traceability.instrumentation import semconv

_ids = itertools.count(1)
T0_NS = 1_780_000_000_000_000_000  # a fixed start time (2026-05-28), 1 s per step


@dataclass
class ScriptedSession:
    """Builds spans; ``flush`` writes them through the exporter."""

    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    user_id: str = "dev@example.com"
    spans: list[SpanRecord] = field(default_factory=list)
    clock_ns: int = T0_NS
    trace_id: str = ""
    root_span_id: str = ""
    tool_use_ids: list[str] = field(default_factory=list)

    def _tick(self) -> int:
        self.clock_ns += 1_000_000_000
        return self.clock_ns

    def turn(self, **root_attributes: AttrValue) -> str:
        """Start a prompt turn (its root span has ``root_attributes`` too); returns its trace id (hex)."""
        self.trace_id = uuid.uuid4().hex
        self.root_span_id = f"{next(_ids):016x}"
        start = self._tick()
        self.spans.append(
            SpanRecord(
                trace_id=self.trace_id,
                span_id=self.root_span_id,
                parent_span_id=None,
                name=semconv.SPAN_NAME_TURN,
                kind="INTERNAL",
                start_time_unix_nano=start,
                end_time_unix_nano=start + 30_000_000_000,
                status_code="OK",
                status_message="",
                attributes={
                    semconv.SPAN_TYPE: semconv.SPAN_TYPE_TURN,
                    semconv.SESSION_ID: self.session_id,
                    semconv.USER_ID: self.user_id,
                    **root_attributes,
                },
                events=(),
                resource={semconv.SERVICE_NAME: semconv.DEFAULT_SERVICE_NAME},
            )
        )
        return self.trace_id

    def tool(
        self,
        tool: str,
        file_path: str,
        code: str,
        *,
        status: str = semconv.STATUS_COMPLETED,
        duration_ms: float | None = 12.5,
        quality_score: float | None = 0.9,
        language: str | None = None,
    ) -> str:
        """A tool span that wrote ``code`` to ``file_path``; returns its tool_use_id."""
        tool_use_id = f"toolu_{next(_ids):08d}"
        start = self._tick()
        attrs: dict[str, AttrValue] = {
            semconv.SPAN_TYPE: semconv.SPAN_TYPE_TOOL,
            semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_EXECUTE_TOOL,
            semconv.GEN_AI_TOOL_NAME: tool,
            semconv.GEN_AI_TOOL_CALL_ID: tool_use_id,
            semconv.CODE_FILE_PATH: file_path,
            semconv.SESSION_ID: self.session_id,
            semconv.STATUS: status,
            semconv.SUCCESS: status == semconv.STATUS_COMPLETED,
            semconv.CODE_CONTENT: code,
        }
        if language:
            attrs[semconv.CODE_LANGUAGE] = language
        if duration_ms is not None:
            attrs[semconv.DURATION_MS] = duration_ms
        if quality_score is not None:
            attrs[semconv.QUALITY_SCORE] = quality_score
        self.spans.append(
            SpanRecord(
                trace_id=self.trace_id,
                span_id=f"{next(_ids):016x}",
                parent_span_id=self.root_span_id,
                name=f"{semconv.SPAN_NAME_EXECUTE_TOOL_PREFIX} {tool}",
                kind="INTERNAL",
                start_time_unix_nano=start,
                end_time_unix_nano=start + 40_000_000,
                status_code="ERROR" if status == semconv.STATUS_FAILED else "OK",
                status_message="",
                attributes=attrs,
                events=(),
                resource={semconv.SERVICE_NAME: semconv.DEFAULT_SERVICE_NAME},
            )
        )
        self.tool_use_ids.append(tool_use_id)
        return tool_use_id

    async def flush(self, dsn: str) -> None:
        """Write the spans so far through the exporter (its pool passes JSON text, no codecs)."""
        spans, self.spans = self.spans, []
        pool = await create_pool(dsn, min_size=1, max_size=2, json_codecs=False)
        try:
            result = await SpanWriter(pool).write(spans)
        finally:
            await pool.close()
        assert not result.rejected, result.rejected
