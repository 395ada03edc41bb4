"""A sustained OTLP/HTTP span stream that retries like an OTel exporter, and the row count check.

The sender retries 429/503 (honouring ``Retry-After``) and connection errors until each request
is answered 200, as the OTLP specification asks of clients, so at the end every turn it sent must
exist exactly once in the database.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from tests.support.span_load import HOOK_SAMPLE_COLUMNS, expected_hook_row, request_bytes, turn_ids

PROTOBUF_HEADERS = {"Content-Type": "application/x-protobuf"}


@dataclass
class StreamStats:
    requests_ok: int = 0
    spans_acked: int = 0
    turns_acked: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    connection_errors: int = 0
    retry_after_missing: int = 0
    max_turn: int = 0


class SpanStream:
    """Sends turns ``0, 1, 2, ...`` of ``run`` in requests of ``turns_per_request`` until stopped."""

    def __init__(
        self,
        url: str,
        run: int,
        *,
        turns_per_request: int = 10,
        hooks: int = 4,
        start_ns: int | None = None,
        pause_s: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.run = run
        self.turns_per_request = turns_per_request
        self.hooks = hooks
        self.start_ns = start_ns
        self.pause_s = pause_s
        self.headers = {**PROTOBUF_HEADERS, **(headers or {})}
        self.stats = StreamStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_turn = 0
        self._lock = threading.Lock()

    def take_turns(self) -> range:
        with self._lock:
            first = self._next_turn
            self._next_turn += self.turns_per_request
        return range(first, first + self.turns_per_request)

    def send_until_ok(self, client: httpx.Client, body: bytes, deadline_s: float = 180.0) -> httpx.Response:
        """POST ``body`` until it is answered 200 (retrying 429/503 and connection errors)."""
        give_up = time.monotonic() + deadline_s
        while True:
            try:
                response = client.post(self.url, content=body, headers=self.headers)
            except httpx.HTTPError:
                self.stats.connection_errors += 1
                if time.monotonic() > give_up:
                    raise
                time.sleep(0.2)
                continue
            self.stats.statuses[response.status_code] += 1
            if response.status_code in (429, 503):
                if "retry-after" not in response.headers:
                    self.stats.retry_after_missing += 1
                delay = float(response.headers.get("retry-after", "1"))
                if time.monotonic() + delay > give_up:
                    return response
                time.sleep(min(delay, 1.0) * 0.5)
                continue
            return response

    def send_one(self, client: httpx.Client) -> None:
        turns = self.take_turns()
        body, spans = request_bytes(self.run, turns, self.hooks, self.start_ns)
        response = self.send_until_ok(client, body)
        if response.status_code != 200:
            raise AssertionError(
                f"request for turns {turns} answered {response.status_code}: {response.text}"
            )
        with self._lock:
            self.stats.requests_ok += 1
            self.stats.spans_acked += spans
            self.stats.turns_acked += len(turns)
            self.stats.max_turn = max(self.stats.max_turn, turns.stop)

    def _loop(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                self.send_one(client)
                if self.pause_s:
                    time.sleep(self.pause_s)

    def start(self) -> SpanStream:
        self._thread = threading.Thread(target=self._loop, name=f"span-stream-{self.run}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> StreamStats:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=240)
            assert not self._thread.is_alive(), "span stream did not stop"
        return self.stats

    @property
    def turns_sent(self) -> int:
        return self._next_turn


async def _count_run(dsn: str, run: int, hooks: int, turns: int) -> dict[str, Any]:
    first, last = turn_ids(run, 0).trace_uuid, turn_ids(run, max(turns - 1, 0)).trace_uuid
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM execution_traces WHERE id BETWEEN $1 AND $2) AS traces,
                   (SELECT count(*) FROM execution_traces WHERE id BETWEEN $1 AND $2
                      AND root_received AND status = 'completed') AS complete_traces,
                   (SELECT count(*) FROM hook_executions WHERE trace_id BETWEEN $1 AND $2) AS hooks,
                   (SELECT count(DISTINCT id) FROM hook_executions WHERE trace_id BETWEEN $1 AND $2)
                     AS distinct_hooks
            """,
            first,
            last,
        )
        assert row is not None
        return dict(row)
    finally:
        await conn.close()


def count_run(dsn: str, run: int, hooks: int, turns: int) -> dict[str, Any]:
    """Rows stored for turns ``0..turns-1`` of ``run``."""
    return asyncio.run(_count_run(dsn, run, hooks, turns))


async def _sample(
    dsn: str, run: int, turns: list[int], hooks: int
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    conn = await asyncpg.connect(dsn)
    try:
        pairs = []
        for turn in turns:
            for index in range(hooks):
                expected = expected_hook_row(run, turn, index)
                row = await conn.fetchrow(
                    f"SELECT {', '.join(HOOK_SAMPLE_COLUMNS)} FROM hook_executions "
                    "WHERE trace_id = $1 AND span_id = $2",
                    expected["trace_id"],
                    expected["span_id"],
                )
                pairs.append((expected, dict(row) if row is not None else {}))
        return pairs
    finally:
        await conn.close()


def sample_mismatches(dsn: str, run: int, turns: list[int], hooks: int) -> list[str]:
    """Field-by-field differences between the rows of ``turns`` and what was sent (empty when equal)."""
    problems = []
    for expected, got in asyncio.run(_sample(dsn, run, turns, hooks)):
        if not got:
            problems.append(f"missing row for span {expected['span_id']}")
            continue
        for key, value in expected.items():
            if got[key] != value:
                problems.append(f"span {expected['span_id']} {key}: sent {value!r}, stored {got[key]!r}")
    return problems
