"""The log writer's transaction: a batch partly stored already inserts only its new events (and
links them); a join with no hook turn to update and a batch of native spans without an
interaction refresh no session (0017, 0018)."""

from __future__ import annotations

import uuid

import asyncpg

from tests.support.log_requests import SESSION, make_log_requests
from traceability.exporter.codec.logs import decode_logs_protobuf
from traceability.exporter.storage import database
from traceability.exporter.storage.native_join import JOIN_TURNS
from traceability.exporter.storage.native_writer import NativeWriter

REFRESH_CALLS = (
    "SELECT coalesce(sum(calls), 0)::int FROM pg_stat_xact_user_functions "
    "WHERE funcname = 'traceability_refresh_sessions'"
)


async def test_a_batch_partly_stored_inserts_only_its_new_events_and_joins_its_turns(db_dsn: str) -> None:
    records = decode_logs_protobuf(make_log_requests(200, 200, seed=3)[0]).records
    pool = await database.create_pool(db_dsn, min_size=1, max_size=2, json_codecs=False)
    try:
        first = await NativeWriter(pool).write_logs(records[:120])
        await pool.execute(
            "INSERT INTO execution_traces (correlation_id, root_id, session_id, source, prompt_id) "
            "VALUES ($1, $1, $2, 'hook', 'prompt-3-3')",
            uuid.uuid4(),
            uuid.UUID(SESSION),
        )
        again = await NativeWriter(pool).write_logs(records)  # 120 stored, 80 new: a partial replay
        events = await pool.fetchval("SELECT count(DISTINCT id) FROM claude_code_events")
        links = await pool.fetch("SELECT prompt_id FROM claude_code_trace_links ORDER BY prompt_id")
        joined = await pool.fetchval(
            "SELECT native_trace_id FROM execution_traces WHERE prompt_id = 'prompt-3-3'"
        )
    finally:
        await pool.close()
    assert (first.stored, first.inserted) == (120, 120)
    assert (again.stored, again.inserted, again.rejected) == (200, 80, [])
    assert events == 200
    assert [r["prompt_id"] for r in links] == [f"prompt-3-{i}" for i in range(4)]  # 50 events a prompt
    assert joined == uuid.UUID(int=3 << 64 | 4)  # prompt 3's native trace (the request's 4th)


async def test_statements_that_change_no_session_refresh_none(db_dsn: str) -> None:
    span = (
        "INSERT INTO claude_code_spans (id, trace_id, span_id, name, span_type, started_at, completed_at, "
        "duration_ms, session_id) VALUES ($1, $1, 'a1', 'claude_code.' || $2, $2, now(), now(), 1, $3)"
    )
    conn = await asyncpg.connect(db_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL track_functions = 'all'")
            await conn.execute(JOIN_TURNS, ["no-such-prompt"])
            await conn.execute(span, uuid.uuid4(), "llm_request", SESSION)
            idle = await conn.fetchval(REFRESH_CALLS)
            await conn.execute(span, uuid.uuid4(), "interaction", SESSION)
            busy = await conn.fetchval(REFRESH_CALLS)
    finally:
        await conn.close()
    assert idle == 0  # the statement triggers fired and returned at once
    assert busy == 1  # a native interaction of a session still refreshes it
