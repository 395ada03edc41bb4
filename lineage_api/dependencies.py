"""Typed FastAPI dependencies: the settings, the pool, one pooled connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from traceability.lineage_api.pool import PoolHolder
from traceability.lineage_api.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_pool_holder(request: Request) -> PoolHolder:
    holder: PoolHolder = request.app.state.pool_holder
    return holder


async def get_pool(holder: Annotated[PoolHolder, Depends(get_pool_holder)]) -> asyncpg.Pool:
    """The pool; 503 (DatabaseUnavailable) when PostgreSQL cannot be reached."""
    return await holder.get()


async def get_connection(
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
) -> AsyncIterator[asyncpg.Connection]:
    """One connection for the request, returned to the pool afterwards."""
    async with pool.acquire() as conn:
        yield conn


SettingsDep = Annotated[Settings, Depends(get_settings)]
PoolHolderDep = Annotated[PoolHolder, Depends(get_pool_holder)]
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
ConnectionDep = Annotated[asyncpg.Connection, Depends(get_connection)]
