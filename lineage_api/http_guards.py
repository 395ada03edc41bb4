"""The API's guards, outermost first: the request guard (body limit answered with 413 from the
declared length before anything else, ``Host`` check; ``serving.guard``), CORS (closed unless
origins are configured), the web UI's sign-in cookie (``ui.auth``) and bearer-token access (``serving.auth``). ``install_guards`` is
called once by ``create_app``.
"""

from __future__ import annotations

import dataclasses
import json

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Scope

from traceability.lineage_api.settings import Settings
from traceability.lineage_api.ui.auth import LOGIN_PATH, STATIC_PREFIX, UiSessionMiddleware
from traceability.serving.auth import BearerAuthMiddleware
from traceability.serving.guard import RequestGuard
from traceability.serving.hosts import HostPolicy


def _render_error(scope: Scope, status: int, message: str) -> tuple[bytes, bytes]:
    body = {"success": False, "error": message, "metadata": {"status_code": status}}
    return json.dumps(body).encode(), b"application/json"


def install_guards(app: FastAPI, settings: Settings, health_path: str) -> None:
    """Add the guards; ``health_path`` stays open so orchestrators can probe without the token."""
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
    # the web UI's sign-in cookie becomes the bearer header for UI pages (inside the request guard)
    app.add_middleware(UiSessionMiddleware, policy=settings.access)
    hosts = HostPolicy.build(
        settings.host,
        token_set=settings.access.token is not None,
        allowed_hosts=settings.limits.allowed_hosts,
    )
    app.add_middleware(
        RequestGuard, max_body_bytes=settings.max_body_bytes, hosts=hosts, render=_render_error
    )
