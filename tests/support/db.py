"""Reading rows back from a test database: the check side of every ingest test."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


async def afetch(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    """The rows of ``sql`` as dicts, on a connection of its own (for tests already in an event loop)."""
    conn = await asyncpg.connect(dsn)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


def fetch(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    return asyncio.run(afetch(dsn, sql, *args))


def snapshot(dsn: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every stored trace and hook row, in id order: equal snapshots mean a replay changed nothing."""
    return (
        fetch(dsn, "SELECT * FROM execution_traces ORDER BY id"),
        fetch(dsn, "SELECT * FROM hook_executions ORDER BY id"),
    )
