"""Turning stored rows into what the templates show: pure functions, no database, no HTTP."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from traceability.instrumentation import semconv

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


def is_turn(row: dict[str, Any]) -> bool:
    """A turn as the API counts them: not the session-events root, and either its root arrived (it
    has a name) or it has a prompt (running: its root comes at Stop). A placeholder without either
    holds session events whose root (sent at SessionEnd) has not arrived."""
    name = row.get("span_name")
    return name != semconv.SPAN_NAME_SESSION and (name is not None or row.get("prompt_id") is not None)


def status_of(row: dict[str, Any]) -> str:
    status = str(row.get("status") or "")
    if status == "completed" and row.get("success") is False:
        return "failed"
    return status or "unknown"


def native_status(row: dict[str, Any]) -> str:
    return "failed" if row.get("status_code") == "ERROR" or row.get("success") is False else "completed"


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
