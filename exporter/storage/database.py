"""Database settings, the asyncpg pool, and schema migrations (Alembic).

Setting resolution follows the OTel SDK convention: argument, else environment, else default.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from traceability.instrumentation.env import DB_URL_ENV, DB_URL_EXTERNAL_ENV, env_str

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"  # exporter/migrations
DB_URL_ENV_VARS = (DB_URL_ENV, DB_URL_EXTERNAL_ENV)
POOL_MIN_SIZE = 5
POOL_MAX_SIZE = 20


def resolve_dsn(dsn: str | None = None) -> str | None:
    """The database URL: the argument, else TRACEABILITY_DB_URL, else TRACEABILITY_DB_URL_EXTERNAL."""
    if dsn:
        return dsn
    for name in DB_URL_ENV_VARS:
        value = env_str(name)
        if value:
            return value
    return None


def asyncpg_dsn(dsn: str) -> str:
    """A libpq-style URL asyncpg accepts (drops a SQLAlchemy ``+driver`` suffix)."""
    parts = urlsplit(dsn)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "postgres":
        scheme = "postgresql"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def sqlalchemy_url(dsn: str) -> str:
    parts = urlsplit(asyncpg_dsn(dsn))
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, parts.query, parts.fragment))


def with_database(dsn: str, name: str) -> str:
    """The same server URL, pointing at database ``name``."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def redact_dsn(dsn: str) -> str:
    """The URL with its password replaced, for logs and messages."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb/json columns take and give Python objects.
    for typ in ("jsonb", "json"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    dsn: str,
    *,
    min_size: int = POOL_MIN_SIZE,
    max_size: int = POOL_MAX_SIZE,
    json_codecs: bool = True,
    **kwargs: Any,
) -> asyncpg.Pool:
    """An asyncpg pool; with ``json_codecs`` jsonb columns take and give Python objects,
    without them JSON text (what the span writer already has, ready for COPY)."""
    pool = await asyncpg.create_pool(
        asyncpg_dsn(dsn),
        min_size=min_size,
        max_size=max_size,
        init=_init_connection if json_codecs else None,
        **kwargs,
    )
    assert pool is not None
    return pool


def _alembic_config(dsn: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(dsn).replace("%", "%%"))
    return config


def upgrade(dsn: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (blocking; call outside a running event loop)."""
    from alembic import command

    command.upgrade(_alembic_config(dsn), revision)


def downgrade(dsn: str, revision: str = "-1") -> None:
    from alembic import command

    command.downgrade(_alembic_config(dsn), revision)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config("postgresql://unused/unused"))
    head = script.get_current_head()
    assert head is not None
    return head


async def current_revision(conn: asyncpg.Connection) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    exists = await conn.fetchval("SELECT to_regclass('public.alembic_version') IS NOT NULL")
    if not exists:
        return None
    value = await conn.fetchval("SELECT version_num FROM alembic_version LIMIT 1")
    return str(value) if value is not None else None


class LazyPool:
    """A pool created on first use, so a service can start while PostgreSQL is still down.

    Calling it returns the pool; a failed creation raises (OSError and friends, which writers
    treat as retryable) and is attempted again on the next call. By default jsonb is exchanged
    as JSON text (what the span writer has ready for COPY); ``json_codecs`` gives Python objects.
    """

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = POOL_MIN_SIZE,
        max_size: int = POOL_MAX_SIZE,
        json_codecs: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self._options: dict[str, Any] = {
            "min_size": min_size, "max_size": max_size, "json_codecs": json_codecs, "timeout": timeout_s
        }  # fmt: skip
        self._pool: asyncpg.Pool | None = None
        self._lock: asyncio.Lock | None = None

    @property
    def pool(self) -> asyncpg.Pool | None:
        """The pool when it exists (it is not created here)."""
        return self._pool

    async def __call__(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._pool is None:
                self._pool = await create_pool(self._dsn, **self._options)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
