"""``RequestGuard``: the request-level limits both services apply before their own handling.

In order: a declared ``Content-Length`` over the body limit is 413 (decided before anything else,
nothing read); a ``Host`` the service does not answer to is 421 (see ``serving.hosts``); a body
that cannot fit the in-flight budget now is 429 with ``Retry-After``. Then, while the app reads the
body, each chunk is counted against the body limit (413) and reserved in the budget (429): the
guard answers itself and the app sees the client disconnect. Any answer sent before the body was
read whole carries ``Connection: close``; ``serving.protocol`` then discards what the client still
sends, for a bounded time, so a client that sends its whole body first can read the answer.

Apps find the request's budget reservation with :func:`reservation_of` (the collector grows it by
what decompression adds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from traceability.serving.budget import InflightBudget, Reservation
from traceability.serving.hosts import HostPolicy

# (scope, status, message) -> (body, content type): each service answers in its own error format
ErrorRenderer = Callable[[Scope, int, str], tuple[bytes, bytes]]
RESERVATION_KEY = "inflight_reservation"


def reservation_of(scope: Scope) -> Reservation | None:
    reservation: Reservation | None = scope.get("state", {}).get(RESERVATION_KEY)
    return reservation


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        hosts: HostPolicy,
        render: ErrorRenderer,
        budget: InflightBudget | None = None,
        retry_after_s: int = 1,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.hosts = hosts
        self.render = render
        self.budget = budget
        self.retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(self, scope, receive, send)
        refusal = exchange.refusal()
        if refusal is not None:
            await exchange.respond(*refusal)
            return
        try:
            await self.app(scope, exchange.receive, exchange.send)
        finally:
            exchange.reservation.close()


class _Exchange:
    """One request passing through the guard."""

    def __init__(self, guard: RequestGuard, scope: Scope, receive: Receive, send: Send) -> None:
        self.guard = guard
        self.scope = scope
        self._receive = receive
        self._send = send
        self.host: str | None = None
        self.declared: int | None = None
        chunked = False
        for key, value in scope.get("headers", []):
            if key == b"host":
                self.host = value.decode("latin-1")
            elif key == b"content-length" and value.isdigit():
                self.declared = int(value)
            elif key == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        self.has_body = chunked or bool(self.declared)
        self.body_done = not self.has_body
        self.received = 0
        self.started = False
        self.answered = False  # the guard answered: the app's own response is dropped
        budget = guard.budget or InflightBudget(limit=2**62)
        self.reservation = budget.open()
        scope.setdefault("state", {})[RESERVATION_KEY] = self.reservation

    def refusal(self) -> tuple[int, str] | None:
        limit = self.guard.max_body_bytes
        if self.declared is not None and self.declared > limit:
            return 413, f"request body of {self.declared} bytes is over the {limit} byte limit"
        if not self.guard.hosts.allows(self.host):
            return 421, self.guard.hosts.refusal(self.host or "")
        budget = self.guard.budget
        if budget is not None and self.has_body and not budget.fits(self.declared or 0):
            return 429, "server is at capacity; retry later"
        return None

    async def receive(self) -> Message:
        if self.answered:
            return {"type": "http.disconnect"}
        event = await self._receive()
        if event["type"] != "http.request":
            return event
        size = len(event.get("body", b""))
        self.received += size
        self.body_done = not event.get("more_body", False)
        if self.received > self.guard.max_body_bytes:
            await self.respond(413, f"request body is over the {self.guard.max_body_bytes} byte limit")
        elif not self.reservation.grow(size):
            await self.respond(429, "server is at capacity; retry later")
        return {"type": "http.disconnect"} if self.answered else event

    async def send(self, message: Message) -> None:
        if self.answered:
            return
        if message["type"] == "http.response.start":
            self.started = True
            if not self.body_done:  # the rest of the body is discarded, not parsed as a next request
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await self._send(message)

    async def respond(self, status: int, text: str) -> None:
        self.answered = True
        if self.started:  # the app already answered; it sees the disconnect
            return
        body, content_type = self.guard.render(self.scope, status, text)
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
        ]
        if not self.body_done:
            headers.append((b"connection", b"close"))
        if status in (429, 503):
            headers.append((b"retry-after", str(self.guard.retry_after_s).encode()))
        start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body})
