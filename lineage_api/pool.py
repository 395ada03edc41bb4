"""The API's asyncpg pool: created at startup, re-attempted on demand while PostgreSQL is down."""

from __future__ import annotations

import logging

import asyncpg

from traceability.exporter.storage.database import LazyPool, redact_dsn
from traceability.exporter.storage.errors import TRANSIENT_DB_ERRORS
from traceability.lineage_api.errors import DatabaseUnavailable
from traceability.lineage_api.settings import Settings

log = logging.getLogger(__name__)


class PoolHolder:
    """Holds the pool; :meth:`get` creates it when it is missing, or raises DatabaseUnavailable (503)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lazy = LazyPool(
            settings.db_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            json_codecs=True,
            timeout_s=settings.pool_timeout_s,
        )
        self.last_error: str | None = None

    @property
    def pool(self) -> asyncpg.Pool | None:
        return self._lazy.pool

    async def get(self) -> asyncpg.Pool:
        try:
            pool = await self._lazy()
        except (*TRANSIENT_DB_ERRORS, asyncpg.PostgresError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise DatabaseUnavailable(
                f"database unavailable at {redact_dsn(self._settings.db_url)}: {self.last_error}"
            ) from exc
        self.last_error = None
        return pool

    async def try_open(self) -> bool:
        """Open the pool now if possible (at startup); a failure is logged, not raised."""
        try:
            await self.get()
        except DatabaseUnavailable as exc:
            log.warning("%s; will retry on the next request", exc.message)
            return False
        return True

    async def close(self) -> None:
        await self._lazy.close()
