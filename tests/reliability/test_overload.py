"""Overload: above its capacity the collector answers 429 (or 503 when it can store nothing) with
Retry-After, its memory stays bounded, and every span it accepted is stored exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.support.collector import running_collector, wait_until
from tests.support.rss import RssSampler
from tests.support.span_load import request_bytes
from tests.support.span_stream import SpanStream, count_run, sample_mismatches
from tests.support.tmpfs import mounted_tmpfs
from traceability.exporter.devtools.embedded_pg import EmbeddedPostgres

HOOKS = 4
MiB = 1024 * 1024


def test_above_capacity_429_with_retry_after_bounded_memory_nothing_lost(db_dsn: str, tmp_path: Path) -> None:
    inflight_limit = 1 * MiB
    env = {"TRACEABILITY_MAX_INFLIGHT_BYTES": str(inflight_limit)}
    runs = range(10, 18)  # 8 concurrent senders, each request ~ 0.17 MiB: 6 fit at once
    with running_collector(db_dsn, tmp_path, extra_env=env) as collector:
        streams = [SpanStream(collector.traces_url, run=r, turns_per_request=100, hooks=HOOKS) for r in runs]
        with RssSampler(collector.process.pid) as rss:
            for s in streams:
                s.start()
            wait_until(
                lambda: (
                    sum(s.stats.statuses[429] for s in streams) >= 20
                    and sum(s.stats.requests_ok for s in streams) >= 25
                ),
                timeout=90,
                what="overload (429s) and progress",
            )
            all_stats = [s.stop() for s in streams]
        health = collector.health()
    sent = sum(s.spans_acked for s in all_stats)
    refused = sum(s.statuses[429] for s in all_stats)
    print(
        f"\ncollector RSS: baseline {rss.baseline / MiB:.0f} MiB, peak {rss.peak / MiB:.0f} MiB "
        f"(+{(rss.peak - rss.baseline) / MiB:.0f} MiB) while {sent} spans were accepted and {refused} requests "
        f"answered 429 (in-flight limit {inflight_limit / MiB:.0f} MiB)"
    )
    assert refused >= 20
    assert sum(s.retry_after_missing for s in all_stats) == 0  # every 429 carried Retry-After
    assert all(set(s.statuses) <= {200, 429} for s in all_stats), [dict(s.statuses) for s in all_stats]
    # bounded: decoded batches in flight are capped by the limit; allow generous room for the
    # protobuf/record/row copies of each batch and the allocator, but not for the ~100 MiB sent
    assert rss.peak - rss.baseline < 40 * inflight_limit + 150 * MiB
    for stream, stats in zip(streams, all_stats, strict=True):
        assert stats.turns_acked == stream.turns_sent
        counts = count_run(db_dsn, stream.run, HOOKS, stream.turns_sent)
        assert counts["hooks"] == counts["distinct_hooks"] == stream.turns_sent * HOOKS, stream.run
        assert counts["traces"] == counts["complete_traces"] == stream.turns_sent
    assert sample_mismatches(db_dsn, runs[0], [0, streams[0].turns_sent - 1], HOOKS) == []
    assert health["receiver"]["inflight_bytes"] == 0  # type: ignore[index]


@pytest.mark.root_only
def test_database_down_and_spool_disk_full_answers_503_with_retry_after_then_recovers(
    own_pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    with mounted_tmpfs(spool, "256k"):
        try:
            with running_collector(own_pg.dsn, tmp_path) as collector:
                (spool / "filler").write_bytes(b"\0" * (256 * 1024 - 4096))  # the disk queue is full
                own_pg.stop("immediate")  # and the database is gone: nothing can take a batch
                body, _spans = request_bytes(30, range(0, 50), HOOKS)
                headers = {"Content-Type": "application/x-protobuf"}
                response = httpx.post(collector.traces_url, content=body, headers=headers, timeout=30)
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "1"
                assert "storage unavailable" in response.text
                assert "cannot store or queue" in collector.log()
                assert collector.process.poll() is None
                own_pg.start()
                stream = SpanStream(collector.traces_url, run=30, turns_per_request=50, hooks=HOOKS)
                stream.send_one(httpx.Client(timeout=60))  # the client's retry of the same turns
                assert stream.stats.statuses[200] == 1
            assert count_run(own_pg.dsn, 30, HOOKS, 50)["hooks"] == 50 * HOOKS
        finally:
            time.sleep(0.2)
