"""The hostile soak's moving parts, shared by ``bench/soak --hostile`` and its short test: the real
collector (HTTP + gRPC + drainer), good traffic, hostile traffic and a /healthz sampler.

Good traffic (``GoodTraffic``): two SDK OTLP/HTTP exporters, one SDK OTLP/gRPC exporter and the real
hook process feeding the spool. Hostile traffic (``HostileTraffic``): every kind of
``soak_hostile`` round-robin at a rate, the 65-70 MiB bodies one at a time, and ``SlowClients``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.collector import Collector, start_collector
from tests.support.soak_good import HookSpooler, Ledger, SdkSender, grpc_sender, http_sender
from tests.support.soak_hostile import HEAVY_KINDS, LIGHT_KINDS, Target, is_server_error, spool_outcomes
from tests.support.soak_slow import SlowClients
from traceability.exporter.devtools.embedded_pg import free_port

GOOD_RUN = 0x600D0000


def start_soak_collector(
    dsn: str, work: Path, extra_env: dict[str, str] | None = None
) -> tuple[Collector, int]:
    """The real collector with OTLP/gRPC on a free port; (collector, gRPC port)."""
    port = free_port()
    collector = start_collector(
        dsn, work / "spool", work / "collector.log", extra_env, ("--grpc-port", str(port))
    )
    return collector, port


class GoodTraffic:
    """Good spans whose ids are all recorded in ``ledger`` once acknowledged."""

    def __init__(self, collector: Collector, grpc_port: int, work: Path, http_senders: int = 2) -> None:
        self.ledger = Ledger()
        self.http_statuses: Counter[int] = Counter()  # every answer the SDK HTTP exporters read
        self.senders: list[SdkSender] = [
            http_sender(collector.traces_url, self.ledger, GOOD_RUN + i, self.http_statuses)
            for i in range(http_senders)
        ]
        self.senders.append(grpc_sender(grpc_port, self.ledger, GOOD_RUN + 0x100))
        self.hooks = HookSpooler(work / "hook", collector.spool_dir, self.ledger)

    def start(self) -> GoodTraffic:
        for sender in self.senders:
            sender.start()
        self.hooks.start()
        return self

    def stop(self) -> list[str]:
        """Stop every sender; the errors of any that died."""
        self.hooks.stop()
        for sender in self.senders:
            sender.stop()
        errors = [f"{s.name}: {s.error!r}" for s in self.senders if s.error is not None]
        if self.hooks.failures:
            errors.append(f"{self.hooks.failures} hook runs exited non-zero")
        return errors

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.http_statuses.items() if status >= 500)


class HostileTraffic:
    """Every hostile kind of issue 11 against one collector, until stopped."""

    def __init__(
        self, collector: Collector, grpc_port: int, work: Path, rate: float = 10.0, heavy_pause_s: float = 2.0
    ) -> None:
        outside = work / "outside"
        outside.mkdir(parents=True, exist_ok=True)
        self.target = Target(collector.url, grpc_port, collector.spool_dir, outside)
        self.rate = rate
        self.heavy_pause_s = heavy_pause_s
        self._outcomes: dict[str, Counter[str]] = {k: Counter() for k in (*LIGHT_KINDS, *HEAVY_KINDS)}
        self._lock = threading.Lock()  # two sender threads count while the test reads
        self.slow = SlowClients(collector.url)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._light, name="hostile-light", daemon=True),
            threading.Thread(target=self._heavy, name="hostile-heavy", daemon=True),
        ]

    def _send(self, kind: str, send: object) -> None:
        try:
            outcome = send(self.target)  # type: ignore[operator]
        except (OSError, httpx.HTTPError) as exc:
            outcome = f"client error {type(exc).__name__}"
        with self._lock:
            self._outcomes[kind][outcome] += 1

    def outcomes(self) -> dict[str, dict[str, int]]:
        """A copy of the answer counts per hostile request kind, taken under the lock."""
        with self._lock:
            return {kind: dict(c) for kind, c in self._outcomes.items()}

    def _light(self) -> None:
        while not self._stop.is_set():
            for kind, send in LIGHT_KINDS.items():
                if self._stop.wait(1 / self.rate):
                    return
                self._send(kind, send)

    def _heavy(self) -> None:
        while not self._stop.is_set():
            for kind, send in HEAVY_KINDS.items():
                if self._stop.wait(self.heavy_pause_s):
                    return
                self._send(kind, send)

    def start(self) -> HostileTraffic:
        self.slow.start()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=180)
        self.slow.stop()

    def results(self) -> dict[str, dict[str, int]]:
        """Outcome counts per kind: requests, slow clients, and the fate of each spool entry."""
        out = {kind: c for kind, c in self.outcomes().items() if not kind.startswith("spool ")}
        out.update(self.slow.outcomes())
        out.update(spool_outcomes(self.target))
        return out

    def spool_fates(self) -> Counter[str]:
        """How many hostile spool entries are set aside, drained, still pending."""
        fates: Counter[str] = Counter()
        for outcomes in spool_outcomes(self.target).values():
            for fate, n in outcomes.items():
                fates[fate.split(":", 1)[0]] += n
        return fates

    @property
    def requests(self) -> int:
        return sum(sum(c.values()) for c in self.outcomes().values()) + self.slow.opened()

    @property
    def server_errors(self) -> int:
        counts = [*self.outcomes().values(), *self.slow.outcomes().values()]
        return sum(n for c in counts for outcome, n in c.items() if is_server_error(outcome))


@dataclass
class HealthSample:
    at_s: float
    phase: str
    code: int | None  # None: no answer within the timeout
    status: str
    problems: list[str]


@dataclass
class HealthSampler:
    """GET /healthz every ``every_s`` seconds (5 s timeout) in a thread, tagged with ``phase``."""

    url: str
    every_s: float = 0.5
    phase: str = "start"
    samples: list[HealthSample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="healthz-sampler", daemon=True)
        self._t0 = time.monotonic()

    def _loop(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.wait(self.every_s):
                at = time.monotonic() - self._t0
                try:
                    response = client.get(f"{self.url}/healthz")
                    data = response.json()
                    sample = HealthSample(
                        at,
                        self.phase,
                        response.status_code,
                        str(data.get("status")),
                        list(data.get("problems", [])),
                    )
                except (httpx.HTTPError, ValueError) as exc:
                    sample = HealthSample(at, self.phase, None, f"no answer: {type(exc).__name__}", [])
                self.samples.append(sample)

    def start(self) -> HealthSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def in_phase(self, phase: str) -> list[HealthSample]:
        return [s for s in self.samples if s.phase == phase]

    def summary(self, phase: str) -> dict[str, int]:
        """Counts of (code, status) in ``phase``, e.g. ``{"200 ok": 58, "503 unhealthy": 2}``."""
        return dict(Counter(f"{s.code} {s.status}" for s in self.in_phase(phase)))
