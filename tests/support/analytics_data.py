"""Generated pattern executions (inserted with COPY) and their statistics computed independently with numpy."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta

import asyncpg
import numpy as np

EXEC_COLUMNS = (
    "id",
    "node_id",
    "pattern_id",
    "tool_use_id",
    "session_id",
    "user_id",
    "tool_name",
    "file_path",
    "executed_at",
    "duration_ms",
    "success",
    "blocked",
    "quality_score",
)


@dataclass
class Execution:
    id: uuid.UUID
    node_id: uuid.UUID
    pattern_id: str
    tool_use_id: str
    session_id: str | None
    user_id: str | None
    tool_name: str | None
    file_path: str | None
    executed_at: datetime
    duration_ms: float | None
    success: bool
    blocked: bool
    quality_score: float | None


async def add_node(
    conn: asyncpg.Connection,
    pattern_id: str,
    version: str = "1.0.0",
    *,
    status: str = "active",
    created_at: datetime | None = None,
) -> uuid.UUID:
    node_id: uuid.UUID = await conn.fetchval(
        """INSERT INTO pattern_lineage_nodes (pattern_id, pattern_name, pattern_type, pattern_version, status,
                                              created_at)
           VALUES ($1, $1, 'function', $2, $3, COALESCE($4, NOW())) RETURNING id""",
        pattern_id,
        version,
        status,
        created_at,
    )
    return node_id


async def copy_executions(conn: asyncpg.Connection, rows: list[Execution]) -> None:
    await conn.copy_records_to_table(
        "pattern_executions", records=[astuple(r) for r in rows], columns=list(EXEC_COLUMNS)
    )


def generate(
    rng: np.random.Generator,
    node_id: uuid.UUID,
    pattern_id: str,
    times: list[datetime],
    *,
    duration_mean: float = 300.0,
    duration_sd: float = 80.0,
    success_p: float = 0.9,
    blocked_p: float = 0.03,
    sessions: int = 40,
    users: int = 7,
    null_p: float = 0.1,
) -> list[Execution]:
    """One execution per time, with realistic gaps: some durations, scores, sessions and users missing."""
    tools = ["Write", "Edit", "MultiEdit", None]
    paths = ["/r/a.py", "/r/b.PY", "/r/c.ts", "/r/Makefile", "/r/.env", None]
    rows = []
    for t in times:
        rows.append(
            Execution(
                id=uuid.uuid4(),
                node_id=node_id,
                pattern_id=pattern_id,
                tool_use_id=f"toolu_{uuid.uuid4().hex}",
                session_id=None if rng.random() < null_p else f"s{rng.integers(sessions)}",
                user_id=None if rng.random() < null_p else f"u{rng.integers(users)}",
                tool_name=tools[int(rng.integers(len(tools)))],
                file_path=paths[int(rng.integers(len(paths)))],
                executed_at=t,
                duration_ms=None
                if rng.random() < null_p
                else float(max(rng.normal(duration_mean, duration_sd), 1.0)),
                success=bool(rng.random() < success_p),
                blocked=bool(rng.random() < blocked_p),
                quality_score=None if rng.random() < null_p else float(rng.uniform(0.3, 1.0)),
            )
        )
    return rows


def uniform_times(rng: np.random.Generator, start: datetime, end: datetime, n: int) -> list[datetime]:
    span_us = int((end - start) / timedelta(microseconds=1))
    return [start + timedelta(microseconds=int(x)) for x in rng.integers(0, span_us, n)]


def extension(path: str | None) -> str:
    return os.path.splitext(os.path.basename(path))[1].lower() if path else ""


def expected(rows: list[Execution], start: datetime, end: datetime, period_s: int, periods: int) -> dict:
    """The window's statistics, computed from the rows with numpy (not with the code under test)."""
    inside = [r for r in rows if start <= r.executed_at < end]
    n = len(inside)
    ok = sum(r.success and not r.blocked for r in inside)
    durations = np.array([r.duration_ms for r in inside if r.duration_ms is not None], dtype=float)
    scores = np.array([r.quality_score for r in inside if r.quality_score is not None], dtype=float)
    counts = [0] * periods
    for r in inside:
        counts[int((r.executed_at - start) / timedelta(microseconds=1)) // (period_s * 1_000_000)] += 1
    days: dict = {}
    for r in inside:
        days[r.executed_at.date()] = days.get(r.executed_at.date(), 0) + 1
    return {
        "n": n,
        "ok": ok,
        "blocked": sum(r.blocked for r in inside),
        "durations": durations,
        "scores": scores,
        "sessions": len({r.session_id for r in inside if r.session_id is not None}),
        "users": len({r.user_id for r in inside if r.user_id is not None}),
        "counts": counts,
        "peak_daily": max(days.values(), default=0),
        "last": max((r.executed_at for r in inside), default=None),
        "tools": _count(r.tool_name or "(none)" for r in inside),
        "extensions": _count(extension(r.file_path) or "(none)" for r in inside),
        "users_by": _count(r.user_id or "(none)" for r in inside),
        "hours": _count(str(r.executed_at.hour) for r in inside),
        "weekdays": _count(str(r.executed_at.weekday()) for r in inside),
    }


def _count(keys: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in keys:
        out[k] = out.get(k, 0) + 1
    return out


def assert_same(a: object, b: object, path: str = "") -> None:
    """Equal, except floats (sums: means, deviations) which may differ by summation-order rounding."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), f"{path}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: {len(a)} != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"
