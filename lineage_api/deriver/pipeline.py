"""Derivation entry point (filled in by the deriver work)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass
class DeriveResult:
    executions: int = 0


async def derive_pending(pool: asyncpg.Pool, *, batch_size: int = 500) -> DeriveResult:
    return DeriveResult()
