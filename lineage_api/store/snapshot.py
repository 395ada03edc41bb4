"""Read-only transactions for the API's larger reads (analytics, feedback, execution logs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

# For queries this size, JIT compilation (70+ ms), parallel workers (~15 ms to start) and generic
# plans (which cannot prune the unused branches) all cost more than they save. SET LOCAL keeps the
# change inside the transaction.
_QUERY_SETTINGS = (
    "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0; "
    "SET LOCAL plan_cache_mode = force_custom_plan"
)


@asynccontextmanager
async def read_snapshot(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """A read-only transaction (one snapshot for every query in it) with the query settings above."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute(_QUERY_SETTINGS)
        yield


async def ping(conn: asyncpg.Connection) -> None:
    """A round trip to PostgreSQL (health)."""
    await conn.fetchval("SELECT 1")
