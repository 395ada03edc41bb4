"""Turning stored rows into what the templates show: pure functions, no database, no HTTP."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from traceability.lineage_api.ui.waterfall import SpanIn

_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")

STATUS_LABELS = {
    "completed": "ok",
    "failed": "failed",
    "blocked": "blocked",
    "abandoned": "abandoned",
    "in_progress": "running",
}


def parse_trace_id(text: str) -> uuid.UUID | None:
    """A trace's UUID, from its UUID form or the 32-hex OTel/Jaeger form; None when it is neither."""
    try:
        return uuid.UUID(hex=text) if _HEX32.match(text) else uuid.UUID(text)
    except ValueError:
        return None


def status_of(row: dict[str, Any]) -> str:
    status = str(row.get("status") or "")
    if status == "completed" and row.get("success") is False:
        return "failed"
    return status or "unknown"


def kind_of(row: dict[str, Any]) -> str:
    kind = row.get("span_type")
    return str(kind) if kind else "other"


def span_in(row: dict[str, Any]) -> SpanIn:
    duration = row.get("duration_ms")
    return SpanIn(
        span_id=str(row["span_id"]),
        parent_span_id=row.get("parent_span_id"),
        name=str(row.get("span_name") or row.get("hook_name") or ""),
        kind=kind_of(row),
        status=status_of(row),
        started_at=row["started_at"],
        duration_ms=float(duration) if duration is not None else None,
    )


def native_status(row: dict[str, Any]) -> str:
    return "failed" if row.get("status_code") == "ERROR" or row.get("success") is False else "completed"


def native_span_in(row: dict[str, Any], parent_span_id: str | None) -> SpanIn:
    """One of Claude Code's own spans (``claude_code_spans``) for the waterfall."""
    return SpanIn(
        span_id=str(row["span_id"]),
        parent_span_id=parent_span_id,
        name=str(row["name"]),
        kind="native",
        status=native_status(row),
        started_at=row["started_at"],
        duration_ms=float(row["duration_ms"]),
    )


def pretty_json(value: Any) -> str | None:
    """JSON for display; a string holding JSON is shown as the JSON it holds."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(text)
        except ValueError:
            return text
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def as_object(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def project_of(cwd: str | None) -> str:
    if not cwd:
        return ""
    return cwd.rstrip("/").rsplit("/", 1)[-1]


def duration_text(ms: float | int | None) -> str:
    if ms is None:
        return "-"
    ms = float(ms)
    if ms >= 3_600_000:
        return f"{ms / 3_600_000:.1f} h"
    if ms >= 60_000:
        return f"{ms / 60_000:.1f} min"
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    return f"{ms:.0f} ms"


def when(moment: datetime | None) -> str:
    """A UTC timestamp as text; the page never depends on the viewer's or the server's zone."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
