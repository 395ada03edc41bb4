"""One set of transient database errors: real PostgreSQL failures are retried by the writer and
answered 503 by the API, the same set for both (``exporter/storage/errors.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from traceability.exporter.devtools.embedded_pg import free_port
from traceability.exporter.storage.writer import RetryPolicy, run_with_retry
from traceability.lineage_api.errors import install_error_handlers


async def admin_shutdown(dsn: str) -> None:
    """A query on a connection whose backend ``pg_terminate_backend`` ended (SQLSTATE 57P01)."""
    victim = await asyncpg.connect(dsn)
    killer = await asyncpg.connect(dsn)
    try:
        pid = victim.get_server_pid()
        # wait=true: returns once the backend has exited, so the victim's next query meets a closed session
        assert await killer.fetchval("SELECT pg_terminate_backend($1, 30000)", pid)
        await victim.fetchval("SELECT 1")
    finally:
        await killer.close()
        victim.terminate()


async def connection_refused(dsn: str) -> None:
    """A connection to a port nothing listens on."""
    await asyncpg.connect(f"postgresql://nobody@127.0.0.1:{free_port()}/none", timeout=5)


async def deadlock(dsn: str) -> None:
    """Two transactions taking two advisory locks in opposite orders: PostgreSQL aborts one (40P01)."""
    first, second = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    both_hold_one = asyncio.Barrier(2)

    async def take(conn: asyncpg.Connection, a: int, b: int) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", a)
            await both_hold_one.wait()
            await conn.execute("SELECT pg_advisory_xact_lock($1)", b)

    try:
        results = await asyncio.gather(take(first, 1, 2), take(second, 2, 1), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert len(errors) == 1, results
        raise errors[0]
    finally:
        await first.close()
        await second.close()


FAILURES: dict[str, Callable[[str], Awaitable[None]]] = {
    "admin_shutdown": admin_shutdown,
    "connection_refused": connection_refused,
    "deadlock": deadlock,
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_writer_retries_a_transient_failure(db_pool: asyncpg.Pool, db_dsn: str, failure: str) -> None:
    attempts = 0

    async def work(conn: asyncpg.Connection) -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await FAILURES[failure](db_dsn)
        return int(await conn.fetchval("SELECT 41 + 1"))

    result = await run_with_retry(db_pool, RetryPolicy(initial_s=0.0, max_s=0.0, deadline_s=60.0), work)
    assert (result, attempts) == (42, 2)


@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_api_answers_503_for_a_transient_failure(db_dsn: str, failure: str) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fail")
    async def fail() -> dict[str, str]:
        await FAILURES[failure](db_dsn)
        return {"unexpected": "no error"}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.get("/fail")
    assert response.status_code == 503, response.text
    assert response.json()["error"].startswith("database unavailable")
