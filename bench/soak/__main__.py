"""bench/soak: a sustained span stream plus concurrent fuzz against the real collector.

    .venv/bin/python -m bench.soak [--duration 60] [--senders 4] [--turns-per-request 50] [--db-url URL]
    .venv/bin/python -m bench.soak --hostile [--duration 120]   (the hostile mix: bench/soak/hostile.py)

Runs ``traceability collector`` (subprocess, free port) on a private PostgreSQL cluster (default
durability) unless ``--db-url`` is given. ``senders`` threads send OTLP/HTTP protobuf turns,
retrying 429/503 as OTLP clients do; one thread sends hostile requests the whole time. Prints a
progress line every second and, at the end: sustained spans/s (and the last third against the
first third of the run, the in-run baseline: a soak should not slow down), the collector's peak
RSS, spans lost (sent and acknowledged but not stored; must be 0) and 5xx answers under fuzz
(must be 0). Exits 1 when either is not 0.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

from bench.soak import hostile
from bench.soak.fuzz import FuzzThread
from tests.support.rss import RssSampler
from tests.support.span_stream import SpanStream, count_run
from traceability.exporter.devtools.embedded_pg import EmbeddedPostgres
from traceability.exporter.storage import database

MiB = 1024 * 1024
RUN_BASE = 0x50A50000


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sustained load (default 60)")
    parser.add_argument("--senders", type=int, default=4, help="concurrent OTLP clients (default 4)")
    parser.add_argument("--turns-per-request", type=int, default=50, help="turns per request, 5 spans each")
    parser.add_argument("--fuzz-rate", type=float, default=20.0, help="hostile requests per second")
    parser.add_argument("--db-url", help="use this (migrated) database instead of a private cluster")
    hostile.add_arguments(parser)
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 3600:
        parser.error("--duration must be between 1 and 3600 seconds")
    return args


def _progress(elapsed: float, total: float, spans: int, rss_mib: float, fuzz: FuzzThread) -> None:
    width = 30
    filled = min(width, int(width * elapsed / total))
    rate = spans / elapsed if elapsed else 0.0
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {elapsed:4.0f}/{total:.0f}s  {spans:>9,} spans acked  "
        f"{rate:>8,.0f}/s  collector RSS {rss_mib:5.0f} MiB  fuzz 5xx {fuzz.server_errors}"
    )
    sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from tests.support.collector import start_collector, stop_collector, wait_until

    work = Path(tempfile.mkdtemp(prefix="soak-"))
    work.chmod(0o755)
    pg: EmbeddedPostgres | None = None
    dsn = args.db_url
    if dsn is None:
        print("starting a private PostgreSQL cluster ...", flush=True)
        pg = EmbeddedPostgres(cluster_dir=work / "pg")
        pg.start()
        dsn = pg.dsn
        database.upgrade(dsn)
    collector = start_collector(dsn, work / "spool", work / "collector.log")
    runs = [RUN_BASE + int(time.time()) % 0xFFFF * 16 + i for i in range(args.senders)]
    try:
        streams = [
            SpanStream(collector.traces_url, run=r, turns_per_request=args.turns_per_request, hooks=4)
            for r in runs
        ]
        fuzz = FuzzThread(collector.traces_url, rate=args.fuzz_rate)
        samples: list[tuple[float, int]] = []
        with RssSampler(collector.process.pid) as rss:
            started = time.monotonic()
            for s in streams:
                s.start()
            fuzz.start()
            while (elapsed := time.monotonic() - started) < args.duration:
                acked = sum(s.stats.spans_acked for s in streams)
                samples.append((elapsed, acked))
                _progress(elapsed, args.duration, acked, rss.current / MiB, fuzz)
                time.sleep(1.0)
            stats = [s.stop() for s in streams]
            fuzz.stop()
            elapsed = time.monotonic() - started
        sys.stderr.write("\n")
        acked = sum(s.spans_acked for s in stats)
        print("waiting for every acknowledged span to be stored ...", flush=True)
        expected = {s.run: s.turns_sent for s in streams}

        def all_stored() -> bool:
            return all(count_run(dsn, r, 4, t)["hooks"] >= t * 4 for r, t in expected.items())

        with contextlib.suppress(AssertionError):  # what is missing after 120 s is reported as lost
            wait_until(all_stored, timeout=120, interval=0.5, what="all spans stored")
        stored = 0
        for r, turns in expected.items():
            counts = count_run(dsn, r, 4, turns)
            stored += counts["hooks"] + counts["complete_traces"]
        lost = acked - stored
        third = args.duration / 3
        first = next((a for t, a in samples if t >= third), acked)
        last_start = next((a for t, a in samples if t >= 2 * third), acked)
        first_rate = first / third
        last_rate = (acked - last_start) / max(elapsed - 2 * third, 1e-9)
        refused = sum(s.statuses[429] + s.statuses[503] for s in stats)
        print(
            f"\nsoak: {args.duration:.0f}s, {args.senders} senders, fuzz {sum(fuzz.statuses.values())} hostile requests"
        )
        print(f"  sustained rate        {acked / elapsed:>10,.0f} spans/s ({acked:,} spans acknowledged)")
        print(f"  last third / first    {last_rate / first_rate if first_rate else 0:>10.2f}x "
              f"({last_rate:,.0f} vs {first_rate:,.0f} spans/s; baseline = the run's first third)")  # fmt: skip
        print(
            f"  collector RSS         {rss.baseline / MiB:>10.0f} MiB at start, peak {rss.peak / MiB:.0f} MiB"
        )
        print(f"  429/503 answered      {refused:>10,} (retried by the senders)")
        print(f"  spans lost            {lost:>10,}   (must be 0)")
        print(
            f"  5xx under fuzz        {fuzz.server_errors:>10,}   (must be 0; answers {dict(fuzz.statuses)})"
        )
        return 0 if lost == 0 and fuzz.server_errors == 0 else 1
    finally:
        stop_collector(collector)
        if pg is not None:
            pg.destroy()


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    return hostile.run(args) if args.hostile else run(args)


if __name__ == "__main__":
    sys.exit(main())
