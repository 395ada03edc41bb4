"""Slow clients for the hostile soak: slowloris headers and bodies at 1 byte/s, and a few senders
that declare 16 MiB and trickle, kept open (replaced when the server closes one) until stopped.

Each closed connection's answer is counted per kind by its status line (``"408"``), so the soak
can show that the server cut them, and how.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field

from tests.support.rawhttp import closed_by_server, connect, request_head, send_all

MiB = 1024 * 1024
SIGNALS = ("traces", "logs", "metrics")


def status_of(answer: bytes) -> str:
    """The status code of a raw HTTP answer (``"408"``), or what came instead."""
    if not answer:
        return "closed without an answer"
    if not answer.startswith(b"HTTP/"):
        return f"not HTTP: {answer[:20]!r}"
    return answer.split(b" ", 2)[1].decode(errors="replace")


@dataclass
class _Conn:
    kind: str
    sock: socket.socket
    per_tick: bytes
    received: dict[int, bytes] = field(default_factory=dict)  # what the server sent, so far


class SlowClients:
    """``headers`` + ``bodies`` slowloris connections and ``big`` 16 MiB tricklers on ``url``."""

    def __init__(self, url: str, headers: int = 15, bodies: int = 15, big: int = 4) -> None:
        self.url = url
        self.plan = {"slowloris headers": headers, "slowloris body": bodies, "16 MiB trickle": big}
        self._outcomes: dict[str, Counter[str]] = {kind: Counter() for kind in self.plan}
        self._opened: Counter[str] = Counter()
        self._lock = threading.Lock()  # the loop thread counts while the test reads
        self._conns: list[_Conn] = []
        self._n = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="slow-clients", daemon=True)

    def _open(self, kind: str) -> None:
        self._n += 1
        path = f"{self.url}/v1/{SIGNALS[self._n % 3]}"
        try:
            sock = connect(self.url)
            if kind == "slowloris headers":
                send_all(sock, f"POST /v1/{SIGNALS[self._n % 3]} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
                per_tick = b"x"
            elif kind == "slowloris body":
                send_all(sock, request_head(path, 100_000))
                per_tick = b"\0"
            else:
                send_all(sock, request_head(path, 16 * MiB) + b"\0" * 1024)
                per_tick = b"\0" * 64
        except OSError as exc:
            self._count(kind, f"connect failed: {type(exc).__name__}")
            return
        with self._lock:
            self._opened[kind] += 1
        self._conns.append(_Conn(kind, sock, per_tick))

    def _count(self, kind: str, outcome: str) -> None:
        with self._lock:
            self._outcomes[kind][outcome] += 1

    def outcomes(self) -> dict[str, dict[str, int]]:
        """A copy of how each kind's closed connections were answered, taken under the lock."""
        with self._lock:
            return {kind: dict(c) for kind, c in self._outcomes.items()}

    def opened(self) -> int:
        """How many slow connections have been opened so far."""
        with self._lock:
            return sum(self._opened.values())

    def _tick(self) -> None:
        for conn in list(self._conns):
            if closed_by_server(conn.sock, conn.received):
                self._count(conn.kind, status_of(b"".join(conn.received.values())))
                conn.sock.close()
                self._conns.remove(conn)
                continue
            with contextlib.suppress(BlockingIOError, ConnectionResetError, BrokenPipeError):
                conn.sock.send(conn.per_tick)
        for kind, wanted in self.plan.items():
            for _ in range(wanted - sum(c.kind == kind for c in self._conns)):
                self._open(kind)

    def _loop(self) -> None:
        while not self._stop.wait(1.0):  # one byte (or tick) per connection per second
            self._tick()

    @property
    def open_now(self) -> int:
        return len(self._conns)

    def start(self) -> SlowClients:
        for kind, wanted in self.plan.items():
            for _ in range(wanted):
                self._open(kind)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        for conn in self._conns:
            self._count(conn.kind, "still open at the end (closed by us)")
            conn.sock.close()
        self._conns.clear()
