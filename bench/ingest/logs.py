"""bench/ingest --signal logs: Claude Code log events (OTLP protobuf) -> committed rows, against raw COPY."""

from __future__ import annotations

import time

import asyncpg

from bench.common import progress
from traceability.exporter.codec.logs import decode_logs_protobuf
from traceability.exporter.storage.native_mapping import EVENT_COLUMNS, event_row


async def raw_copy_logs(dsn: str, requests: list[bytes]) -> tuple[float, int]:
    """Baseline: COPY the already-mapped event rows, one transaction per batch."""
    batches = [[event_row(r, False) for r in decode_logs_protobuf(b).records] for b in requests]
    c = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        for i, rows in enumerate(batches):
            async with c.transaction():
                await c.copy_records_to_table("claude_code_events", records=rows, columns=EVENT_COLUMNS)
            progress("raw COPY", i + 1, len(batches))
        elapsed = time.perf_counter() - started
    finally:
        await c.close()
    return elapsed, sum(len(b) for b in batches)
