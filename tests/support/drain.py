"""Draining a hook spool into PostgreSQL through the real collector, shared by the end-to-end tests."""

from __future__ import annotations

from tests.support.hooks import HookEnv
from traceability.collector.drainer import SpoolDrainer
from traceability.exporter.storage.database import LazyPool
from traceability.exporter.storage.writer import SpanWriter


async def drain(db_dsn: str, hook: HookEnv) -> None:
    pool = LazyPool(db_dsn, min_size=1, max_size=2)
    drainer = SpoolDrainer(str(hook.spool), SpanWriter(pool))
    try:
        while await drainer.drain_once():
            pass
    finally:
        await pool.close()
    assert drainer.stats.spans_rejected == 0
