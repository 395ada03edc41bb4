"""Access control shared by the two HTTP services (collector and lineage API).

Rules: services bind to 127.0.0.1 by default. With ``TRACEABILITY_API_TOKEN`` set, or when bound
to a non-loopback address, requests need ``Authorization: Bearer <token>``: writes always, reads
too when ``TRACEABILITY_AUTH_READS`` is true. A non-loopback bind without a token is refused at
start, because it would expose writes to the network. The token is compared in constant time and
never logged.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from traceability.instrumentation.env import API_TOKEN_ENV, AUTH_READS_ENV, env_bool, env_str

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class InsecureBind(ValueError):
    """A non-loopback bind without a token."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class AccessPolicy:
    token: str | None
    protect_reads: bool = False
    open_paths: frozenset[str] = frozenset()  # always open, e.g. health checks for orchestrators
    open_prefixes: tuple[str, ...] = ()  # always open below these, e.g. static assets that show no data

    @classmethod
    def resolve(
        cls,
        host: str,
        *,
        token: str | None = None,
        protect_reads: bool | None = None,
        open_paths: Iterable[str] = (),
    ) -> AccessPolicy:
        """Setting = argument, else environment. Raises InsecureBind for a tokenless public bind."""
        token = token or env_str(API_TOKEN_ENV) or None
        if protect_reads is None:
            protect_reads = env_bool(AUTH_READS_ENV, False)
        if token is None and not is_loopback(host):
            raise InsecureBind(
                f"refusing to listen on {host} without a token: set {API_TOKEN_ENV} "
                "(clients then send 'Authorization: Bearer <token>'), or bind to 127.0.0.1"
            )
        return cls(token=token, protect_reads=protect_reads, open_paths=frozenset(open_paths))

    def requires_token(self, method: str, path: str) -> bool:
        if self.token is None or path in self.open_paths or path.startswith(self.open_prefixes):
            return False
        return method not in READ_METHODS or self.protect_reads

    def allows(self, authorization: str | None) -> bool:
        if self.token is None:
            return True
        if not authorization or not authorization.lower().startswith("bearer "):
            return False
        return hmac.compare_digest(authorization[7:].strip().encode(), self.token.encode())


class BearerAuthMiddleware:
    """Pure ASGI middleware: 401 with a JSON message when a required token is missing or wrong."""

    def __init__(self, app: ASGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.policy.requires_token(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.policy.allows(headers.get("authorization")):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {
                "success": False,
                "error": "missing or invalid bearer token",
                "message": "send Authorization: Bearer <token>",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="traceability"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
