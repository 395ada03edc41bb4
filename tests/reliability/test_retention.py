"""`traceability retention`: old traces and their hook executions go in bounded batches, new rows
stay, and the collector keeps ingesting (and committing) while a large run is under way."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.support.collector import running_collector
from tests.support.db import fetch
from tests.support.span_stream import SpanStream, count_run, sample_mismatches
from traceability.exporter.storage.retention import parse_duration

OLD_TRACES = 3000
HOOKS_PER_OLD_TRACE = 20
RECENT_TRACES = 200

SEED_SQL = """
INSERT INTO execution_traces (id, correlation_id, root_id, session_id, source, started_at, status, root_received)
SELECT id, id, id, gen_random_uuid(), 'seed', started_at, 'completed', true
FROM (SELECT gen_random_uuid() AS id, now() - $1::interval - g * interval '1 second' AS started_at
      FROM generate_series(1, $2) g) s;
"""
SEED_HOOKS_SQL = """
INSERT INTO hook_executions (trace_id, hook_type, hook_name, execution_order, span_id, span_name, started_at,
                             input_data)
SELECT t.id, 'PostToolUse', 'seed', h, lpad(to_hex(h), 16, '0'), 'hook PostToolUse', t.started_at,
       jsonb_build_object('content', repeat('x', 200))
FROM execution_traces t CROSS JOIN generate_series(1, $2) h WHERE t.source = 'seed' AND t.started_at < $1;
"""


async def _seed(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SEED_SQL, timedelta(days=60), OLD_TRACES)
        await conn.execute(SEED_SQL, timedelta(days=1), RECENT_TRACES)
        cutoff = await conn.fetchval("SELECT now() - interval '30 days'")
        await conn.execute(SEED_HOOKS_SQL, cutoff, HOOKS_PER_OLD_TRACE)
        # recent traces get hooks too: they must all survive
        await conn.execute(SEED_HOOKS_SQL.replace("t.started_at < $1", "t.started_at >= $1"), cutoff, 3)
    finally:
        await conn.close()


def _retention(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "traceability.cli.main", "retention", "--db-url", dsn, *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _old_and_recent(dsn: str) -> dict[str, int]:
    row = fetch(
        dsn,
        """SELECT
             (SELECT count(*) FROM execution_traces WHERE source = 'seed' AND started_at < now() - interval '30 days') AS old_traces,
             (SELECT count(*) FROM hook_executions h JOIN execution_traces t ON t.id = h.trace_id
               WHERE t.source = 'seed' AND t.started_at < now() - interval '30 days') AS old_hooks,
             (SELECT count(*) FROM execution_traces WHERE source = 'seed' AND started_at >= now() - interval '30 days') AS recent_traces,
             (SELECT count(*) FROM hook_executions h JOIN execution_traces t ON t.id = h.trace_id
               WHERE t.source = 'seed' AND t.started_at >= now() - interval '30 days') AS recent_hooks""",
    )[0]
    return {k: int(v) for k, v in row.items()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("1d12h", timedelta(hours=36)),
     ("2w", timedelta(days=14)), ("90m", timedelta(minutes=90)), (" 45s ", timedelta(seconds=45))],
)  # fmt: skip
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "30x", "-1d", "0d", "30d; DROP TABLE x", "1.5d"])
def test_bad_durations_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_bad_duration_on_the_command_line_exits_2_with_a_message(db_dsn: str) -> None:
    result = _retention(db_dsn, "--older-than", "30 days please")
    assert result.returncode == 2
    assert "invalid duration" in result.stderr


def test_dry_run_prints_what_would_go_and_deletes_nothing(db_dsn: str) -> None:
    asyncio.run(_seed(db_dsn))
    before = _old_and_recent(db_dsn)
    result = _retention(db_dsn, "--older-than", "30d", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert (
        f"would delete {OLD_TRACES} traces and {OLD_TRACES * HOOKS_PER_OLD_TRACE} hook executions"
        in result.stdout
    )
    assert _old_and_recent(db_dsn) == before


def test_large_run_removes_old_rows_in_batches_while_ingest_keeps_committing(
    db_dsn: str, tmp_path: Path
) -> None:
    asyncio.run(_seed(db_dsn))
    assert _old_and_recent(db_dsn) == {
        "old_traces": OLD_TRACES,
        "old_hooks": OLD_TRACES * HOOKS_PER_OLD_TRACE,
        "recent_traces": RECENT_TRACES,
        "recent_hooks": RECENT_TRACES * 3,
    }
    hooks = 4
    with running_collector(db_dsn, tmp_path) as collector:
        stream = SpanStream(collector.traces_url, run=7, turns_per_request=5, hooks=hooks).start()
        while stream.stats.requests_ok < 3:  # ingest is flowing before retention starts
            time.sleep(0.05)
        acked_before = stream.stats.spans_acked
        result = _retention(db_dsn, "--older-than", "30d", "--batch-rows", "5000")
        acked_during = stream.stats.spans_acked - acked_before
        stats = stream.stop()
        health = collector.health()
    print(result.stdout, result.stderr[-300:])
    assert result.returncode == 0, result.stderr

    # old rows gone, recent rows untouched
    assert _old_and_recent(db_dsn) == {
        "old_traces": 0,
        "old_hooks": 0,
        "recent_traces": RECENT_TRACES,
        "recent_hooks": RECENT_TRACES * 3,
    }
    done = re.search(r"deleted (\d+) traces and (\d+) hook executions in (\d+) transactions", result.stdout)
    assert done is not None, result.stdout
    assert (int(done[1]), int(done[2])) == (OLD_TRACES, OLD_TRACES * HOOKS_PER_OLD_TRACE)
    # bounded transactions: 5000 hook rows at most in each, so at least 60000 / 5000 of them
    assert int(done[3]) >= OLD_TRACES * HOOKS_PER_OLD_TRACE // 5000
    assert "traces," in result.stderr  # the progress line

    # ingest ran during retention, every span it sent is stored exactly once, and the receiver never
    # had to fall back to the disk queue (each batch committed within its 2 s write deadline)
    assert acked_during > 0
    counts = count_run(db_dsn, 7, hooks, stream.turns_sent)
    assert counts["traces"] == counts["complete_traces"] == stats.turns_acked == stream.turns_sent
    assert counts["hooks"] == counts["distinct_hooks"] == stats.turns_acked * hooks
    assert sample_mismatches(db_dsn, 7, [0, stream.turns_sent // 2, stream.turns_sent - 1], hooks) == []
    assert health["receiver"]["spans_queued_on_disk"] == 0  # type: ignore[index]
    assert set(stats.statuses) == {200}
