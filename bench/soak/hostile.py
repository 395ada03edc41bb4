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

/healthz is truthful when: in phases 1-2 (nothing is broken: poison lines and special files are
set aside and everything else drains) every sample answers, within 5 s, 200 ok, and its
``spool_set_aside`` equals the hostile entries found under ``rejected/``; in phase 3 it answers
503 naming the stall within the stall limit plus 30 s, and 200 ok again within 60 s of the release. Exit 1 unless: 0 good spans lost (looked up by id), 0 5xx
(HTTP) or server-error gRPC codes, collector peak RSS under the limit, /healthz truthful.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil

from bench.common import bench_database
from tests.support.collector import stop_collector, wait_until
from tests.support.ingest_payloads import body, turn_payload
from tests.support.rss import RssSampler
from tests.support.soak_good import wait_stored
from tests.support.soak_mix import GoodTraffic, HealthSampler, HostileTraffic, start_soak_collector
from traceability.exporter.storage import database
from traceability.instrumentation.spool import write_spool_file

MiB = 1024 * 1024
STALL_S = 5  # the collector's TRACEABILITY_DRAIN_STALL_S in this run
INFLIGHT = 64 * MiB  # the collector's in-flight budget (default)
RSS_LIMIT_OVER_CLEAN = 2 * INFLIGHT  # peak RSS may exceed the clean phase's peak by this much


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hostile", action="store_true", help="the hostile mix of issue 11 (this module)")
    parser.add_argument("--hostile-rate", type=float, default=10.0, help="light hostile requests per second")


def _progress(
    phase: str,
    elapsed: float,
    total: float,
    good: GoodTraffic,
    rss: RssSampler,
    hostile: HostileTraffic | None,
    health: HealthSampler,
) -> None:
    last = health.samples[-1] if health.samples else None
    sys.stderr.write(
        f"\r{phase:<6} {elapsed:4.0f}/{total:.0f}s  good spans acked {good.ledger.total:>8,}  "
        f"RSS {rss.current / MiB:4.0f} MiB  hostile {hostile.requests if hostile else 0:>6,} "
        f"(5xx {hostile.server_errors if hostile else 0}, slow open {hostile.slow.open_now if hostile else 0:>2})  "
        f"healthz {last.code if last else '-'} {last.status if last else ''}   "
    )
    sys.stderr.flush()


def _phase(
    name: str,
    seconds: float,
    good: GoodTraffic,
    health: HealthSampler,
    hostile: HostileTraffic | None,
    pid: int,
) -> Phase:
    """Run ``seconds`` of phase ``name``."""
    health.phase = name
    acked0, started = good.ledger.total, time.monotonic()
    cpu0, own0 = _cpu(psutil.Process(pid)), _cpu(psutil.Process())
    with RssSampler(pid, interval_s=0.1) as rss:
        while (elapsed := time.monotonic() - started) < seconds:
            _progress(name, elapsed, seconds, good, rss, hostile, health)
            time.sleep(1.0)
    sys.stderr.write("\n")
    cpu, own = _cpu(psutil.Process(pid)) - cpu0, _cpu(psutil.Process()) - own0
    return Phase(good.ledger.total - acked0, time.monotonic() - started, rss, cpu, own)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


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


@dataclass
class Phase:
    acked: int  # good spans acknowledged during the phase
    seconds: float
    rss: RssSampler
    collector_cpu_s: float  # CPU time the collector used in the phase (user + system)
    bench_cpu_s: float  # and this process (the senders, good and hostile, share its GIL)

    @property
    def rate(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0


@dataclass
class Outcome:
    """What one run measured, for the report."""

    good: GoodTraffic
    hostile: HostileTraffic
    health: HealthSampler
    clean: Phase
    mixed: Phase
    rss_start: int
    rss_end: int
    said_stalled: float | None
    said_ok: float | None
    set_aside: tuple[int, int]  # hostile spool entries found under rejected/, and /healthz's spool_set_aside
    lost: list[tuple[uuid.UUID, str]]
    errors: list[str]


def _run_phases(dsn: str, work: Path, args: argparse.Namespace) -> Outcome:
    clean_s = max(args.duration / 3, 5.0)
    mixed_s = max(args.duration - clean_s, 5.0)
    collector, grpc_port = start_soak_collector(dsn, work, {"TRACEABILITY_DRAIN_STALL_S": str(STALL_S)})
    pid = collector.process.pid
    try:
        rss_start = RssSampler(pid).baseline
        health = HealthSampler(collector.url).start()
        good = GoodTraffic(collector, grpc_port, work).start()
        clean = _phase("clean", clean_s, good, health, None, pid)
        hostile = HostileTraffic(collector, grpc_port, work, rate=args.hostile_rate).start()
        mixed = _phase("mixed", mixed_s, good, health, hostile, pid)
        print("stopping the hostile traffic (the 65-70 MiB bodies in flight finish) ...", flush=True)
        hostile.stop()
        with contextlib.suppress(AssertionError):
            wait_until(lambda: not hostile.spool_fates()["still pending"], timeout=60, what="spool drained")
        set_aside = (hostile.spool_fates()["set aside"], int(collector.health()["spool_set_aside"]))  # type: ignore[call-overload]
        print(f"stall: hook_executions locked until /healthz says stalled (limit {STALL_S}s) ...", flush=True)
        said_stalled, said_ok = _stall_phase(dsn, collector.spool_dir, health)
        errors = good.stop()
        print("waiting (up to 120 s) for every acknowledged good span to be stored ...", flush=True)
        lost = wait_stored(dsn, good.ledger, 120)
        health.stop()
        rss_end = RssSampler(pid).baseline
    finally:
        stop_collector(collector)
    return Outcome(
        good,
        hostile,
        health,
        clean,
        mixed,
        rss_start,
        rss_end,
        said_stalled,
        said_ok,
        set_aside,
        lost,
        errors,
    )


def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="soak-hostile-"))
    work.chmod(0o755)
    try:
        if args.db_url:
            print("database: --db-url", flush=True)
            return _report(_run_phases(args.db_url, work, args))
        with bench_database("soak_hostile") as (dsn, where):
            database.upgrade(dsn)
            print(f"database: {where}; collector: HTTP + gRPC + drainer, stall limit {STALL_S}s", flush=True)
            return _report(_run_phases(dsn, work, args))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}s"


def _report(o: Outcome) -> int:
    ledger = o.good.ledger
    five_xx = o.good.server_errors + o.hostile.server_errors
    rss_limit = o.clean.rss.peak + RSS_LIMIT_OVER_CLEAN
    peak = max(o.clean.rss.peak, o.mixed.rss.peak)
    steady = [s for p in ("clean", "mixed") for s in o.health.in_phase(p)]
    false_alarms = [s for s in steady if s.code != 200 or s.status != "ok"]
    truthful = (
        not false_alarms
        and o.said_stalled is not None
        and o.said_ok is not None
        and len(set(o.set_aside)) == 1
    )
    ratio = o.mixed.rate / o.clean.rate if o.clean.rate else 0.0
    print(
        f"\nhostile soak: clean {o.clean.seconds:.0f}s, mixed {o.mixed.seconds:.0f}s, then a stalled drainer"
    )
    print(f"  good spans acknowledged {ledger.total:>9,}  {dict(ledger.by_source)}")
    print(
        f"                          exports refused after the exporters' retries: {dict(ledger.refused) or 0}"
    )
    print(
        f"  good spans lost         {len(o.lost):>9,}  (looked up by trace and span id; must be 0) {o.lost[:3] or ''}"
    )
    print(
        f"  good spans/s            {o.clean.rate:>9,.0f} clean (baseline), {o.mixed.rate:,.0f} mixed: mixed/clean {ratio:.2f}x"
    )
    print(f"  CPU, share of one core  collector {o.clean.collector_cpu_s / o.clean.seconds:.0%} clean, "
          f"{o.mixed.collector_cpu_s / o.mixed.seconds:.0%} mixed; this process (every sender) "
          f"{o.clean.bench_cpu_s / o.clean.seconds:.0%} clean, {o.mixed.bench_cpu_s / o.mixed.seconds:.0%} mixed; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(
        f"  5xx + gRPC server errors {five_xx:>8,}  (must be 0; the SDK HTTP exporters read {dict(o.good.http_statuses)})"
    )
    print(f"  collector RSS           start {o.rss_start / MiB:.0f} MiB, clean peak {o.clean.rss.peak / MiB:.0f} MiB (baseline), "
          f"mixed peak {o.mixed.rss.peak / MiB:.0f} MiB, end {o.rss_end / MiB:.0f} MiB")  # fmt: skip
    print(f"                          mixed peak / clean peak {o.mixed.rss.peak / o.clean.rss.peak:.2f}x; limit: clean peak "
          f"+ 2 x in-flight budget = {rss_limit / MiB:.0f} MiB: {'ok' if peak <= rss_limit else 'OVER'}")  # fmt: skip
    print(f"  /healthz                clean {o.health.summary('clean')}; mixed {o.health.summary('mixed')}")
    print(f"                          stall: 503 stalled after {_seconds(o.said_stalled)} (limit {STALL_S}s + 30s), "
          f"200 ok {_seconds(o.said_ok)} after the release (limit 60s)")  # fmt: skip
    print(
        f"                          hostile spool entries under rejected/ {o.set_aside[0]}, /healthz spool_set_aside {o.set_aside[1]}"
    )
    print(f"                          truthful: {'yes' if truthful else 'NO'} {false_alarms[:3] or ''}")
    print(
        f"  hostile requests        {o.hostile.requests:,} (slow connections counted as opened); outcomes per kind:"
    )
    for kind, outcomes in sorted(o.hostile.results().items()):
        print(f"    {kind:<28} {', '.join(f'{k}: {n}' for k, n in sorted(outcomes.items()))}")
    for error in o.errors:
        print(f"  sender error: {error}")
    ok = not o.lost and five_xx == 0 and peak <= rss_limit and truthful and not o.errors
    print(
        f"\n{'PASS' if ok else 'FAIL'} (the machine is shared: absolute figures are noisy, ratios are within this run)"
    )
    return 0 if ok else 1
