"""Good traffic for the hostile soak: real OTel SDK exporters (OTLP/HTTP protobuf and OTLP/gRPC) and
the real hook process, each recording the id of every span it was told was accepted.

A span counts as sent once its exporter reported success (the collector answered 200 / OK, after
the exporter's own retries of 429/503) or, for the hook, once its spool file was moved into the
collector's spool. ``missing`` then looks each one up by id in PostgreSQL: a root span in
``execution_traces`` (id = trace id, ``root_span_id``), any other span in ``hook_executions``.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import requests
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from tests.support.hooks import HookEnv, load_sequence, read_spool
from tests.support.spans import make_turn


class Ledger:
    """The (trace id, span id) of every good span acknowledged, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spans: list[tuple[uuid.UUID, str]] = []
        self.by_source: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # exports that failed after the exporter's retries

    def add(self, source: str, spans: Sequence[tuple[uuid.UUID, str]]) -> None:
        with self._lock:
            self.spans.extend(spans)
            self.by_source[source] += len(spans)

    def refuse(self, source: str) -> None:
        with self._lock:
            self.refused[source] += 1

    @property
    def total(self) -> int:
        return len(self.spans)


def _ids(spans: Sequence[ReadableSpan]) -> list[tuple[uuid.UUID, str]]:
    out = []
    for span in spans:
        ctx = span.get_span_context()
        assert ctx is not None
        out.append((uuid.UUID(int=ctx.trace_id), f"{ctx.span_id:016x}"))
    return out


class SdkSender:
    """Exports batches of turns (root + 4 hooks, fixed ids) through one SDK exporter until stopped."""

    def __init__(
        self, name: str, exporter: SpanExporter, ledger: Ledger, run: int, turns_per_export: int = 20
    ):
        self.name = name
        self.exporter = exporter
        self.ledger = ledger
        self.run = run
        self.turns_per_export = turns_per_export
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"good-{name}", daemon=True)
        self.error: BaseException | None = None

    def _loop(self) -> None:
        turn = 0
        try:
            while not self._stop.is_set():
                batch: list[ReadableSpan] = []
                for _ in range(self.turns_per_export):
                    batch.extend(make_turn((self.run << 64) | turn, hooks=4))
                    turn += 1
                if self.exporter.export(batch) is SpanExportResult.SUCCESS:
                    self.ledger.add(self.name, _ids(batch))
                else:
                    self.ledger.refuse(self.name)
        except BaseException as exc:  # reported by stop(): a sender that died sent nothing more
            self.error = exc

    def start(self) -> SdkSender:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)
        self.exporter.shutdown()


def http_sender(url: str, ledger: Ledger, run: int, statuses: Counter[int]) -> SdkSender:
    """The SDK's OTLP/HTTP protobuf exporter; every answer it reads (retries too) goes into ``statuses``."""
    session = requests.Session()
    session.hooks["response"].append(lambda response, *a, **k: statuses.update([response.status_code]))
    return SdkSender(
        f"sdk-http-{run:x}", HttpSpanExporter(endpoint=url, timeout=60, session=session), ledger, run
    )


def grpc_sender(port: int, ledger: Ledger, run: int) -> SdkSender:
    exporter = GrpcSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, timeout=60)
    return SdkSender(f"sdk-grpc-{run:x}", exporter, ledger, run)


class HookSpooler:
    """Runs the real hook process on a recorded session's events, one after another, in a spool of
    its own, then moves each spool file it wrote into the collector's spool (a rename: atomic)."""

    def __init__(self, root: Path, collector_spool: Path, ledger: Ledger) -> None:
        self.env = HookEnv(root)
        self.collector_spool = collector_spool
        self.ledger = ledger
        self.events = load_sequence("v2.1.270_s01_S01_startup_tools.jsonl")
        self.failures = 0
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="good-hooks", daemon=True)

    def _loop(self) -> None:
        session = 0
        while not self._stop.is_set():
            session += 1
            sid = str(uuid.UUID(int=(0x500C << 112) | session))
            for event in self.events:
                if self._stop.is_set():
                    return
                event = {**event, "session_id": sid}
                if self.env.run(json.dumps(event).encode()).returncode != 0:
                    self.failures += 1
                self.runs += 1
                self._hand_over()

    def _hand_over(self) -> None:
        if not self.env.spool.is_dir():
            return
        spans = [(uuid.UUID(s.trace_id), s.span_id) for s in read_spool(self.env.spool)]
        for path in sorted(self.env.spool.glob("*.json")):
            os.rename(path, self.collector_spool / path.name)
        if spans:
            self.ledger.add("hook", spans)

    def start(self) -> HookSpooler:
        self.collector_spool.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)


async def _missing(dsn: str, spans: list[tuple[uuid.UUID, str]]) -> list[tuple[uuid.UUID, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """
            SELECT w.t, w.s FROM unnest($1::uuid[], $2::text[]) AS w(t, s)
            WHERE NOT EXISTS (SELECT 1 FROM hook_executions h WHERE h.trace_id = w.t AND h.span_id = w.s)
              AND NOT EXISTS (SELECT 1 FROM execution_traces e WHERE e.id = w.t AND e.root_span_id = w.s)
            """,
            [t for t, _ in spans],
            [s for _, s in spans],
        )
        return [(r["t"], r["s"]) for r in rows]
    finally:
        await conn.close()


def missing(dsn: str, ledger: Ledger) -> list[tuple[uuid.UUID, str]]:
    """The acknowledged good spans that have no row (by trace and span id)."""
    return asyncio.run(_missing(dsn, list(ledger.spans)))


def wait_stored(dsn: str, ledger: Ledger, timeout_s: float) -> list[tuple[uuid.UUID, str]]:
    """Poll until every acknowledged span is stored or ``timeout_s`` passed; what is still missing."""
    deadline = time.monotonic() + timeout_s
    lost = missing(dsn, ledger)
    while lost and time.monotonic() < deadline:
        time.sleep(1.0)
        lost = missing(dsn, ledger)
    return lost
