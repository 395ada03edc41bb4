"""Browser access to a token-protected API: a sign-in form that sets a cookie, never a token in a URL.

The cookie holds an HMAC of the token (not the token), is HttpOnly and SameSite=Strict. For the
UI's own paths, :class:`UiSessionMiddleware` turns a valid cookie into the ``Authorization``
header the bearer-token guard checks, so the API's access rules apply unchanged; a form POST must
also come from the page's own origin. A page that needs the token and has none is redirected to
the sign-in form instead of getting the API's JSON 401.
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import SimpleCookie
from urllib.parse import quote, urlsplit

from traceability.serving.auth import AccessPolicy, Receive, Scope, Send
from traceability.serving.auth import ASGIApp as App

COOKIE_NAME = "traceability_ui"
LOGIN_PATH = "/login"
STATIC_PREFIX = "/static/"
API_PREFIXES = ("/api/", "/docs", "/openapi.json", "/redoc")


def cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"traceability-ui-v1", hashlib.sha256).hexdigest()


def is_ui_path(path: str) -> bool:
    return not path.startswith(API_PREFIXES)


def _cookie(headers: dict[str, str]) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header is no cookie
        return None
    morsel = jar.get(COOKIE_NAME)
    return morsel.value if morsel is not None else None


def _same_origin(headers: dict[str, str]) -> bool:
    origin = headers.get("origin") or headers.get("referer")
    if not origin:
        return False
    return urlsplit(origin).netloc == headers.get("host", "")


class UiSessionMiddleware:
    """Outside the bearer guard: cookie -> Authorization for UI paths, sign-in redirect when needed."""

    def __init__(self, app: App, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        token = self.policy.token
        if scope["type"] != "http" or token is None or not is_ui_path(path):
            await self.app(scope, receive, send)
            return
        if path == LOGIN_PATH or path.startswith(STATIC_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method = scope["method"]
        value = _cookie(headers)
        valid = value is not None and hmac.compare_digest(value, cookie_value(token))
        if valid and (method in ("GET", "HEAD") or _same_origin(headers)):
            kept = [(k, v) for k, v in scope["headers"] if k.lower() != b"authorization"]
            scope = {**scope, "headers": [*kept, (b"authorization", f"Bearer {token}".encode())]}
            await self.app(scope, receive, send)
            return
        if "authorization" not in headers and self.policy.requires_token(method, path) and method == "GET":
            query = scope.get("query_string", b"").decode("latin-1")
            target = path + ("?" + query if query else "")
            location = f"{LOGIN_PATH}?next={quote(target, safe='')}"
            await send(
                {"type": "http.response.start", "status": 303, "headers": [(b"location", location.encode())]}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)
