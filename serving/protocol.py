"""uvicorn's httptools protocol with the connection-level limits uvicorn lacks.

uvicorn has ``timeout_keep_alive`` (idle time between requests) but nothing for a request that is
being received: a client sending its headers or body at 1 byte/s, or opening a connection and
sending nothing, holds it for ever (uvicorn's own ``--timeout-request-start`` proposal was never
merged). Its ``limit_concurrency`` answers 503 only after reading headers, so silent connections
still pile up. This subclass adds, per connection (see ``ServerLimits`` for the values):

- a deadline for the request line and headers, counted from the connection (first request) or the
  request's first byte (keep-alive), and a size cap on them: 408 / 431, then close;
- while the body is expected and the server is waiting for it (reading not paused because the app
  is busy), a minimum data rate with a grace credit, and an absolute deadline: 408, then close;
- a cap on open connections: beyond it a new connection gets 503 and is closed at once;
- a lingering close (nginx's ``lingering_close``): when an answer is sent before the request body
  was received whole and the connection is to be closed, the write side is shut and what the client
  still sends is read and discarded, within a time and byte bound, so it sees the answer rather
  than a reset.

Serve with ``uvicorn.run(app, **server_options(limits))``; the factory is picklable, so it also
works with ``workers > 1``. It relies on uvicorn's ``HttpToolsProtocol`` internals (the parser
callbacks, ``self.cycle``, ``self.flow``); tests/security/test_slow_clients.py covers them.
"""

from __future__ import annotations

import asyncio
import http
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from traceability.serving.limits import ServerLimits


def _raw_response(status: int, message: str, extra: bytes = b"") -> bytes:
    body = message.encode()
    return (
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n".encode()
        + b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
        + extra
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )


class _CloseLingers:
    """The transport a request cycle writes to: closing it lingers (see the module docstring)."""

    def __init__(self, protocol: GuardedHttpToolsProtocol) -> None:
        self._protocol = protocol
        self._transport = protocol.transport

    def write(self, data: bytes) -> None:
        self._transport.write(data)

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()

    def close(self) -> None:
        self._protocol.linger_close()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, limits: ServerLimits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limits = limits
        self.lingering = False
        self._rejected = False
        self._awaiting_headers = True
        self._message_complete = True
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_started = 0.0
        self._last_tick = 0.0
        self._tick_bytes = 0
        self._credit = 0.0
        self._linger_timer: asyncio.TimerHandle | None = None
        self._linger_deadline = 0.0
        self._linger_bytes = 0

    # connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._rejected = True
            message = f"too many connections (limit {self.limits.max_connections}); retry later"
            transport.write(_raw_response(503, message, b"retry-after: 1\r\n"))
            transport.close()
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._header_timer, self._body_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._rejected:
            return
        if self.lingering:
            self._discard(len(data))
            return
        super().data_received(data)
        if self._awaiting_headers and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._fail(431, f"request headers are over the {self.limits.max_header_bytes} byte limit")

    def eof_received(self) -> None:
        if self.lingering:
            self.transport.close()

    # parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_headers = True
        self._message_complete = False
        self._header_bytes = 0
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().on_headers_complete()
        if self.cycle is not None:
            self.cycle.transport = _CloseLingers(self)  # type: ignore[assignment]
        self._body_started = self._last_tick = self.loop.time()
        self._tick_bytes = 0
        self._credit = self.limits.body_grace_s
        self._schedule_tick()

    def on_body(self, body: bytes) -> None:
        self._tick_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._message_complete = True
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if self.lingering:
            self.server_state.total_requests += 1
            return
        super().on_response_complete()

    # header deadline

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.limits.header_timeout_s, self._header_timeout)

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self._awaiting_headers and not self.transport.is_closing():
            self._fail(408, f"request headers not received within {self.limits.header_timeout_s:g} s")

    # body rate and deadline

    def _schedule_tick(self) -> None:
        interval = max(0.05, min(1.0, self.limits.body_grace_s / 4, self.limits.body_timeout_s / 4))
        self._body_timer = self.loop.call_later(interval, self._tick)

    def _tick(self) -> None:
        self._body_timer = None
        if self._message_complete or self.lingering or self.transport.is_closing():
            return
        now = self.loop.time()
        elapsed, self._last_tick = now - self._last_tick, now
        limits = self.limits
        if now - self._body_started > limits.body_timeout_s:
            self._fail(408, f"request body not received within {limits.body_timeout_s:g} s")
            return
        if not self.flow.read_paused and limits.min_body_rate_bytes_s > 0:  # waiting for the client
            earned = self._tick_bytes / limits.min_body_rate_bytes_s
            self._credit = min(limits.body_grace_s, self._credit - elapsed + earned)
            if self._credit <= 0:
                self._fail(408, f"request body arrives slower than {limits.min_body_rate_bytes_s} bytes/s")
                return
        self._tick_bytes = 0
        self._schedule_tick()

    def _fail(self, status: int, message: str) -> None:
        """Answer (unless the app already did), stop the app's exchange, close without lingering."""
        cycle = self.cycle
        if cycle is None or not cycle.response_started:
            self.transport.write(_raw_response(status, message))
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()
        self.logger.info("%s: %s; connection closed", self.client, message)
        self.transport.close()

    # lingering close

    def linger_close(self) -> None:
        if self.lingering or self.transport.is_closing():
            return
        if self._message_complete:
            self.transport.close()
            return
        self.lingering = True
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self._linger_deadline = self.loop.time() + self.limits.linger_time_s
        self._arm_linger_timer()

    def _discard(self, size: int) -> None:
        self._linger_bytes += size
        if self._linger_bytes > self.limits.linger_max_bytes:
            self.transport.close()
        else:
            self._arm_linger_timer()

    def _arm_linger_timer(self) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        delay = min(self.limits.linger_idle_s, self._linger_deadline - self.loop.time())
        self._linger_timer = self.loop.call_later(max(0.0, delay), self.transport.close)


@dataclass(frozen=True)
class GuardedProtocolFactory:
    """What uvicorn's ``http`` option is given: builds one protocol per connection (picklable)."""

    limits: ServerLimits

    def __call__(self, **kwargs: Any) -> GuardedHttpToolsProtocol:
        return GuardedHttpToolsProtocol(self.limits, **kwargs)


def server_options(limits: ServerLimits) -> dict[str, Any]:
    """uvicorn keyword arguments that serve with these limits."""
    return {"http": GuardedProtocolFactory(limits)}
