"""The API's guards, outermost first: CORS (closed unless origins are configured), bearer-token
access (``exporter.access``), and a request body limit answered with 413 before the body is read
whole. ``install_guards`` is called once by ``create_app``.
"""

from __future__ import annotations

import dataclasses

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from traceability.exporter.access import BearerAuthMiddleware
from traceability.lineage_api.settings import Settings
from traceability.lineage_api.ui.auth import LOGIN_PATH, STATIC_PREFIX


class BodyLimitMiddleware:
    """413 for a declared Content-Length over ``max_bytes`` (nothing read), or as soon as a streamed
    body passes it (the rest is never buffered)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        message = f"request body is over the {limit} byte limit"
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > limit:
                await _send_413(send, f"request body of {int(value)} bytes is over the {limit} byte limit")
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    raise HTTPException(413, message)  # answered by the app's error handler
            return event

        await self.app(scope, limited_receive, send)


async def _send_413(send: Send, message: str) -> None:
    import json

    body = json.dumps({"success": False, "error": message, "metadata": {"status_code": 413}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install_guards(app: FastAPI, settings: Settings, health_path: str) -> None:
    """Add the guards; ``health_path`` stays open so orchestrators can probe without the token."""
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    policy = dataclasses.replace(
        settings.access,
        open_paths=settings.access.open_paths | {health_path, LOGIN_PATH},
        open_prefixes=(*settings.access.open_prefixes, STATIC_PREFIX),
    )
    app.add_middleware(BearerAuthMiddleware, policy=policy)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
        )
