"""The soak's fuzz thread: hostile OTLP requests (tests/support/hostile_bodies.py) at a steady rate."""

from __future__ import annotations

import random
import threading
from collections import Counter

import httpx

from tests.support.hostile_bodies import hostile_request


class FuzzThread:
    """Posts hostile requests at ``rate`` per second until stopped; counts answers by status."""

    def __init__(
        self, url: str, rate: float = 20.0, seed: int = 7, headers: dict[str, str] | None = None
    ) -> None:
        self.url = url
        self.rate = rate
        self.rng = random.Random(seed)
        self.headers = headers or {}
        self.statuses: Counter[int] = Counter()
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-fuzz", daemon=True)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def _run(self) -> None:
        counter = 0
        with httpx.Client(timeout=30) as client:
            while not self._stop.wait(1 / self.rate):
                counter += 1
                body, content_type = hostile_request(self.rng, counter)
                try:
                    response = client.post(
                        self.url, content=body, headers={"Content-Type": content_type, **self.headers}
                    )
                except httpx.HTTPError:
                    self.errors += 1
                    continue
                self.statuses[response.status_code] += 1

    def start(self) -> FuzzThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
