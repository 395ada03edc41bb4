"""bench/soak --hostile: good traffic alone, then good traffic mixed with every hostile input of
issue 11, then a stalled drainer, against the real collector (HTTP, gRPC, drainer, PostgreSQL).

    .venv/bin/python -m bench.soak --hostile [--duration 120] [--hostile-rate 10] [--db-url URL]

Phases, each with the same good traffic (two SDK OTLP/HTTP exporters, one SDK OTLP/gRPC exporter,
the real hook process spooling a recorded session):

1. clean (a third of ``--duration``): the baseline of every figure;
2. mixed (the rest): plus every hostile kind (long values, spool special files, slowloris and
   16 MiB tricklers, 65-70 MiB bodies, nested-kvlist amplification, non-finite numbers,
   malformed protobuf/JSON; HTTP and gRPC; traces, logs and metrics);
3. stall: ``hook_executions`` locked (ACCESS EXCLUSIVE) while a spool file waits, until /healthz
   says so, then released until it says healthy again.

/healthz is truthful when: in phases 1-2 (nothing is broken) every sample answers, within 5 s,
200 ok; in phase 3 it answers 503 naming the stall within the stall limit plus 30 s, and 200 ok
again within 60 s of the release. Exit 1 unless: 0 good spans lost (looked up by id), 0 5xx
(HTTP) or server-error gRPC codes, collector peak RSS under the limit, /healthz truthful.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from bench.common import bench_database
from tests.support.collector import stop_collector, wait_until
from tests.support.ingest_payloads import body, turn_payload
from tests.support.rss import RssSampler
from tests.support.soak_good import wait_stored
from tests.support.soak_mix import GoodTraffic, HealthSampler, HostileTraffic, start_soak_collector
from traceability.instrumentation.spool import write_spool_file

MiB = 1024 * 1024
STALL_S = 5  # the collector's TRACEABILITY_DRAIN_STALL_S in this run
INFLIGHT = 64 * MiB  # the collector's in-flight budget (default)
RSS_LIMIT_OVER_CLEAN = 2 * INFLIGHT  # peak RSS may exceed the clean phase's peak by this much


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hostile", action="store_true", help="the hostile mix of issue 11 (this module)")
    parser.add_argument("--hostile-rate", type=float, default=10.0, help="light hostile requests per second")


def _progress(phase: str, elapsed: float, total: float, good: GoodTraffic, rss: RssSampler, hostile: HostileTraffic | None, health: HealthSampler) -> None:
    last = health.samples[-1] if health.samples else None
    sys.stderr.write(
        f"\r{phase:<6} {elapsed:4.0f}/{total:.0f}s  good spans acked {good.ledger.total:>8,}  "
        f"RSS {rss.current / MiB:4.0f} MiB  hostile {hostile.requests if hostile else 0:>6,} "
        f"(5xx {hostile.server_errors if hostile else 0}, slow open {hostile.slow.open_now if hostile else 0:>2})  "
        f"healthz {last.code if last else '-'} {last.status if last else ''}   "
    )
    sys.stderr.flush()


def _phase(name: str, seconds: float, good: GoodTraffic, health: HealthSampler, hostile: HostileTraffic | None, pid: int) -> tuple[int, float, RssSampler]:
    """Run ``seconds`` of phase ``name``; (good spans acked in it, its length, its RSS)."""
    health.phase = name
    acked0, started = good.ledger.total, time.monotonic()
    with RssSampler(pid, interval_s=0.1) as rss:
        while (elapsed := time.monotonic() - started) < seconds:
            _progress(name, elapsed, seconds, good, rss, hostile, health)
            time.sleep(1.0)
    sys.stderr.write("\n")
    return good.ledger.total - acked0, time.monotonic() - started, rss


@contextlib.contextmanager
def _locked(dsn: str) -> Iterator[None]:
    """hook_executions under ACCESS EXCLUSIVE for the block: every drain batch waits."""
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(dsn))
    tx = conn.transaction()
    loop.run_until_complete(tx.start())
    loop.run_until_complete(conn.execute("LOCK TABLE hook_executions IN ACCESS EXCLUSIVE MODE"))
    try:
        yield
    finally:
        loop.run_until_complete(tx.rollback())
        loop.run_until_complete(conn.close())
        loop.close()


def _stall_phase(dsn: str, collector_spool: Path, health: HealthSampler) -> tuple[float | None, float | None]:
    """Seconds until /healthz said 503 "stalled", and until 200 again after the release (None: never)."""
    health.phase = "stall"
    started = time.monotonic()
    said_stalled = said_ok = None
    with _locked(dsn):
        write_spool_file(str(collector_spool), "stall-probe", [body(turn_payload(0x57A11, hooks=2))])
        with contextlib.suppress(AssertionError):
            wait_until(
                lambda: bool(health.samples) and health.samples[-1].code == 503
                and any("stalled" in p for p in health.samples[-1].problems),
                timeout=STALL_S + 30, interval=0.2, what="/healthz 503 stalled",
            )  # fmt: skip
            said_stalled = time.monotonic() - started
    health.phase = "recover"
    released = time.monotonic()
    with contextlib.suppress(AssertionError):
        wait_until(
            lambda: health.samples[-1].phase == "recover" and health.samples[-1].code == 200
            and health.samples[-1].status == "ok",
            timeout=60, interval=0.2, what="/healthz 200 after the release",
        )  # fmt: skip
        said_ok = time.monotonic() - released
    return said_stalled, said_ok


def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="soak-hostile-"))
    work.chmod(0o755)
    clean_s = max(args.duration / 3, 5.0)
    mixed_s = max(args.duration - clean_s, 5.0)
    with bench_database("soak_hostile") as (dsn, where):
        if args.db_url:
            dsn, where = args.db_url, "--db-url"
        else:
            from traceability.exporter import database

            database.upgrade(dsn)
        print(f"database: {where}; collector: HTTP + gRPC + drainer, stall limit {STALL_S}s", flush=True)
        collector, grpc_port = start_soak_collector(dsn, work, {"TRACEABILITY_DRAIN_STALL_S": str(STALL_S)})
        pid = collector.process.pid
        hostile: HostileTraffic | None = None
        try:
            rss_start = RssSampler(pid).baseline
            health = HealthSampler(collector.url).start()
            good = GoodTraffic(collector, grpc_port, work).start()
            clean_acked, clean_len, clean_rss = _phase("clean", clean_s, good, health, None, pid)
            hostile = HostileTraffic(collector, grpc_port, work, rate=args.hostile_rate).start()
            mixed_acked, mixed_len, mixed_rss = _phase("mixed", mixed_s, good, health, hostile, pid)
            print("stopping the hostile traffic (the 65-70 MiB bodies in flight finish) ...", flush=True)
            hostile.stop()
            print(f"stall: locking hook_executions until /healthz says stalled (limit {STALL_S}s) ...", flush=True)
            said_stalled, said_ok = _stall_phase(dsn, collector.spool_dir, health)
            errors = good.stop()
            print("waiting (up to 120 s) for every acknowledged good span to be stored ...", flush=True)
            lost = wait_stored(dsn, good.ledger, 120, time.sleep)
            health.stop()
            rss_end = RssSampler(pid).baseline
        finally:
            stop_collector(collector)
    return _report(args, locals())


def _report(args: argparse.Namespace, r: dict[str, object]) -> int:
    good: GoodTraffic = r["good"]  # type: ignore[assignment]
    hostile: HostileTraffic = r["hostile"]  # type: ignore[assignment]
    health: HealthSampler = r["health"]  # type: ignore[assignment]
    clean_rss: RssSampler = r["clean_rss"]  # type: ignore[assignment]
    mixed_rss: RssSampler = r["mixed_rss"]  # type: ignore[assignment]
    lost: list[object] = r["lost"]  # type: ignore[assignment]
    clean_rate = r["clean_acked"] / r["clean_len"]  # type: ignore[operator]
    mixed_rate = r["mixed_acked"] / r["mixed_len"]  # type: ignore[operator]
    ledger = good.ledger
    five_xx = good.server_errors + hostile.server_errors
    rss_limit = clean_rss.peak + RSS_LIMIT_OVER_CLEAN
    peak = max(clean_rss.peak, mixed_rss.peak)
    steady = [s for p in ("clean", "mixed") for s in health.in_phase(p)]
    false_alarms = [s for s in steady if s.code != 200 or s.status != "ok"]
    said_stalled, said_ok = r["said_stalled"], r["said_ok"]
    truthful = not false_alarms and said_stalled is not None and said_ok is not None
    print(f"\nhostile soak: clean {r['clean_len']:.0f}s, mixed {r['mixed_len']:.0f}s, then a stalled drainer")
    print(f"  good spans acknowledged {ledger.total:>9,}  ({dict(ledger.by_source)}; exports refused after retries: {dict(ledger.refused) or 0})")
    print(f"  good spans lost         {len(lost):>9,}  (looked up by trace and span id; must be 0){'  e.g. ' + repr(lost[:3]) if lost else ''}")
    print(f"  good spans/s            {clean_rate:>9,.0f} clean, {mixed_rate:,.0f} mixed: ratio mixed/clean {mixed_rate / clean_rate if clean_rate else 0:.2f}x")
    print(f"  5xx and gRPC server errors {five_xx:>6,}  (must be 0; good traffic's HTTP answers {dict(good.http_statuses)})")
    print(f"  collector RSS           start {r['rss_start'] / MiB:.0f} MiB, clean peak {clean_rss.peak / MiB:.0f} MiB, mixed peak {mixed_rss.peak / MiB:.0f} MiB, end {r['rss_end'] / MiB:.0f} MiB")  # type: ignore[operator]
    print(f"                          mixed peak / clean peak {mixed_rss.peak / clean_rss.peak:.2f}x; limit clean peak + 2 x in-flight budget = {rss_limit / MiB:.0f} MiB: {'ok' if peak <= rss_limit else 'OVER'}")
    print(f"  /healthz                clean {health.summary('clean')}; mixed {health.summary('mixed')}")
    print(f"                          stall: 503 stalled after {said_stalled if said_stalled is None else f'{said_stalled:.1f}s'} (limit {STALL_S}s), "
          f"200 ok {said_ok if said_ok is None else f'{said_ok:.1f}s'} after the release; samples {health.summary('stall')} / {health.summary('recover')}")  # fmt: skip
    print(f"                          truthful: {'yes' if truthful else 'NO'}{' (false alarms: ' + repr(false_alarms[:3]) + ')' if false_alarms else ''}")
    print(f"  hostile requests        {hostile.requests:,}; outcomes per kind:")
    for kind, outcomes in sorted(hostile.results().items()):
        print(f"    {kind:<28} {', '.join(f'{o}: {n}' for o, n in sorted(outcomes.items()))}")
    errors: list[str] = r["errors"]  # type: ignore[assignment]
    for error in errors:
        print(f"  sender error: {error}")
    ok = not lost and five_xx == 0 and peak <= rss_limit and truthful and not errors
    print(f"\n{'PASS' if ok else 'FAIL'} (machine shared: figures are noisy; ratios are within this run)")
    return 0 if ok else 1
