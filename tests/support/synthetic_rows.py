"""Demo-like rows written straight into the migrated schema, for checking dashboard SQL.

Shaped like what the exporter and the deriver write for `traceability demo` sessions: turns over
14 days, hook spans per Claude Code event, one tool span per tool use (some failed, some blocked),
quality scores on writes and edits, RAG queries with and without matches, and code patterns with
several versions executed over the days. Everything is returned too, so tests can compute the
expected figures independently with numpy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import numpy as np

HOOKS = ("UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop")
TOOLS = ("Bash", "Read", "Write", "Edit", "Grep")
CODE_TOOLS = ("Write", "Edit")


@dataclass
class SyntheticData:
    end: datetime
    traces: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)

    def tool_spans(self) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["span_type"] == "tool"]

    def hook_spans(self) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["span_type"] == "hook"]


def generate(seed: int = 7, turns: int = 160, days: int = 14, end: datetime | None = None) -> SyntheticData:
    rng = np.random.default_rng(seed)
    end = end or datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    data = SyntheticData(end=end)
    patterns = []
    for p in range(6):
        pattern_id = f"{p:016x}"
        versions = []
        for v in range(1 + p % 3):
            node = {
                "id": uuid.uuid4(),
                "pattern_id": pattern_id,
                "pattern_name": f"module_{p}.function_{p}",
                "pattern_version": f"1.{v}.0",
                "created_at": end - timedelta(days=days - v * 4),
            }
            versions.append(node)
            data.nodes.append(node)
        patterns.append(versions)
    sessions = [str(uuid.uuid4()) for _ in range(20)]
    for _ in range(turns):
        started = end - timedelta(seconds=float(rng.uniform(0, days * 86400 - 600)))
        turn = _Turn(rng, uuid.uuid4(), sessions[int(rng.integers(len(sessions)))])
        at = started
        turn.span("hook", "UserPromptSubmit", None, at)
        for _ in range(int(rng.integers(1, 5))):
            tool = TOOLS[int(rng.integers(len(TOOLS)))]
            at += timedelta(seconds=float(rng.uniform(1, 20)))
            pre = turn.span("hook", "PreToolUse", tool, at)
            tool_span = turn.span("tool", "tool", tool, at, tool_duration_ms=float(rng.lognormal(4, 1)))
            outcome = rng.random()
            if outcome < 0.12:
                tool_span.update(status="failed", success=False, error_message=f"{tool} failed: exit code 1")
            elif outcome < 0.17:
                tool_span.update(status="blocked", success=False, error_message="denied by quality enforcer")
            if tool in CODE_TOOLS:
                score = float(np.clip(rng.normal(0.8, 0.12), 0, 1))
                tool_span.update(quality_score=score, quality_check_performed=True)
                pre.update(
                    rag_query_performed=True, attributes={"traceability.rag.matches": int(rng.integers(0, 4))}
                )
                versions = patterns[int(rng.integers(len(patterns)))]
                node = versions[int(rng.integers(len(versions)))]
                data.executions.append(
                    {
                        "id": uuid.uuid4(),
                        "node_id": node["id"],
                        "pattern_id": node["pattern_id"],
                        "tool_use_id": f"toolu_{uuid.uuid4().hex[:20]}",
                        "trace_id": turn.trace_id,
                        "session_id": turn.session,
                        "tool_name": tool,
                        "executed_at": at,
                        "duration_ms": tool_span["tool_duration_ms"],
                        "success": tool_span["success"],
                        "blocked": tool_span["status"] == "blocked",
                        "quality_score": score,
                    }
                )
            turn.span("hook", "PostToolUse", tool, at + timedelta(milliseconds=tool_span["tool_duration_ms"]))
        at += timedelta(seconds=float(rng.uniform(1, 30)))
        # as the writer maps a turn: one that reached Stop is completed (and a success) even when a
        # tool call in it failed; one that never did is abandoned
        abandoned = rng.random() < 0.08
        if not abandoned:
            turn.span("hook", "Stop", None, at)
        data.traces.append(
            {
                "id": turn.trace_id,
                "session_id": uuid.UUID(turn.session),
                "started_at": started,
                "completed_at": at,
                "duration_ms": round((at - started).total_seconds() * 1000),
                "status": "abandoned" if abandoned else "completed",
                "success": not abandoned,
                "error_message": next((s["error_message"] for s in turn.spans if s["error_message"]), None),
            }
        )
        data.spans.extend(turn.spans)
    return data


@dataclass
class _Turn:
    """The spans of one prompt turn, in execution order."""

    rng: np.random.Generator
    trace_id: uuid.UUID
    session: str
    spans: list[dict[str, Any]] = field(default_factory=list)

    def span(
        self, span_type: str, hook_type: str, tool: str | None, at: datetime, **extra: Any
    ) -> dict[str, Any]:
        duration = float(self.rng.lognormal(1.5, 0.6))
        name = f"hook {hook_type}" if span_type == "hook" else f"execute_tool {tool}"
        row: dict[str, Any] = {
            "id": uuid.uuid4(),
            "trace_id": self.trace_id,
            "hook_type": hook_type,
            "hook_name": hook_type if span_type == "hook" else name,
            "execution_order": len(self.spans) + 1,
            "tool_name": tool,
            "started_at": at,
            "completed_at": at + timedelta(milliseconds=duration),
            "duration_ms": max(1, round(duration)),
            "status": "completed",
            "success": True,
            "span_id": uuid.uuid4().hex[:16],
            "span_name": name,
            "span_type": span_type,
            "session_id": self.session,
            "tool_duration_ms": None,
            "quality_score": None,
            "quality_check_performed": False,
            "rag_query_performed": False,
            "error_message": None,
            "attributes": {},
        }
        row.update(extra)
        self.spans.append(row)
        return row


async def insert(conn: asyncpg.Connection, data: SyntheticData) -> None:
    await conn.executemany(
        """INSERT INTO execution_traces (id, correlation_id, root_id, session_id, source, started_at,
               completed_at, duration_ms, status, success, error_message, span_name, service_name, root_received)
           VALUES ($1, $1, $1, $2, 'claude-code', $3, $4, $5, $6, $7, $8, 'claude_code.turn', 'claude-code-hooks', true)""",
        [
            (
                t["id"],
                t["session_id"],
                t["started_at"],
                t["completed_at"],
                t["duration_ms"],
                t["status"],
                t["success"],
                t["error_message"],
            )
            for t in data.traces
        ],
    )
    await conn.executemany(
        """INSERT INTO hook_executions (id, trace_id, hook_type, hook_name, execution_order, tool_name,
               started_at, completed_at, duration_ms, status, success, span_id, span_name, span_type,
               session_id, tool_duration_ms, quality_score, quality_check_performed, rag_query_performed,
               error_message, attributes)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21::text::jsonb)""",
        [
            (
                s["id"],
                s["trace_id"],
                s["hook_type"],
                s["hook_name"],
                s["execution_order"],
                s["tool_name"],
                s["started_at"],
                s["completed_at"],
                s["duration_ms"],
                s["status"],
                s["success"],
                s["span_id"],
                s["span_name"],
                s["span_type"],
                s["session_id"],
                s["tool_duration_ms"],
                s["quality_score"],
                s["quality_check_performed"],
                s["rag_query_performed"],
                s["error_message"],
                _json(s["attributes"]),
            )
            for s in data.spans
        ],
    )
    await conn.executemany(
        """INSERT INTO pattern_lineage_nodes (id, pattern_id, pattern_name, pattern_type, pattern_version, created_at)
           VALUES ($1, $2, $3, 'function', $4, $5)""",
        [
            (n["id"], n["pattern_id"], n["pattern_name"], n["pattern_version"], n["created_at"])
            for n in data.nodes
        ],
    )
    await conn.executemany(
        """INSERT INTO pattern_executions (id, node_id, pattern_id, tool_use_id, trace_id, session_id, tool_name,
               executed_at, duration_ms, success, blocked, quality_score)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        [
            (
                e["id"],
                e["node_id"],
                e["pattern_id"],
                e["tool_use_id"],
                e["trace_id"],
                e["session_id"],
                e["tool_name"],
                e["executed_at"],
                e["duration_ms"],
                e["success"],
                e["blocked"],
                e["quality_score"],
            )
            for e in data.executions
        ],
    )


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
