"""A code-writing tool span as the deriver reads it, and the pattern_executions row it becomes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from traceability.instrumentation import semconv
from traceability.lineage_api.store.lineage import NodeRef

NAMESPACE = uuid.UUID("6b1f3c52-8f0e-4c86-9d3e-7a51c2d0e404")  # of the deriver's deterministic ids
TRIGGERED_BY = "pattern_deriver"


@dataclass(frozen=True)
class ToolUse:
    row: asyncpg.Record

    @property
    def attributes(self) -> dict[str, Any]:
        attrs = self.row["attributes"]
        return attrs if isinstance(attrs, dict) else {}

    @property
    def blocked(self) -> bool:
        return (
            self.row["status"] == semconv.STATUS_BLOCKED or self.attributes.get(semconv.TOOL_BLOCKED) is True
        )

    @property
    def succeeded(self) -> bool:
        return bool(self.row["success"]) and self.row["status"] not in (
            semconv.STATUS_FAILED,
            semconv.STATUS_BLOCKED,
        )

    @property
    def tool_use_key(self) -> str:
        return self.row["tool_use_id"] or str(self.row["id"])


def execution_row(use: ToolUse, node: NodeRef) -> dict[str, Any]:
    """The ``pattern_executions`` row linking the tool use to a version (its id deterministic)."""
    row = use.row
    duration = row["tool_duration_ms"] if row["tool_duration_ms"] is not None else row["duration_ms"]
    return {
        "id": uuid.uuid5(NAMESPACE, f"execution:{node.id}:{use.tool_use_key}"),
        "node_id": node.id,
        "pattern_id": node.pattern_id,
        "tool_use_id": use.tool_use_key,
        "trace_id": row["trace_id"],
        "hook_execution_id": row["id"],
        "session_id": row["session_id"],
        "user_id": row["user_id"],
        "tool_name": row["tool_name"],
        "file_path": row["file_path"],
        "executed_at": row["started_at"],
        "duration_ms": float(duration) if duration is not None else None,
        "success": use.succeeded and not use.blocked,
        "blocked": use.blocked,
        "quality_score": row["quality_score"],
    }
