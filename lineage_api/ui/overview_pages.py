"""The overview page (the Grafana panels) and the sign-in form."""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from traceability.lineage_api.dependencies import ConnectionDep, SettingsDep
from traceability.lineage_api.ui import auth, overview
from traceability.lineage_api.ui.rendering import PageError, as_of, int_param, param, render

router = APIRouter(include_in_schema=False)


@router.get("/overview", response_class=HTMLResponse)
async def overview_page(request: Request, conn: ConnectionDep) -> Response:
    days = int_param(request, "days", 14, 1, 365)
    panels = await overview.panels(conn, now=as_of(request), days=days)
    return render(request, "overview.html", {"panels": panels, "days": days})


@router.get(auth.LOGIN_PATH, response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return render(request, "login.html", {"next": _safe_next(param(request, "next")), "failed": False})


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no //), so sign-in cannot redirect elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post(auth.LOGIN_PATH)
async def login(request: Request, settings: SettingsDep) -> Response:
    body = await request.body()
    if len(body) > 8192:
        raise PageError(400, "the sign-in form is larger than 8 KiB")
    form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    token = (form.get("token") or [""])[0]
    target = _safe_next((form.get("next") or ["/"])[0])
    expected = settings.access.token
    if expected is None:
        return RedirectResponse(target, status_code=303)
    if not hmac.compare_digest(token.encode(), expected.encode()):
        return render(request, "login.html", {"next": target, "failed": True}, status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        auth.COOKIE_NAME, auth.cookie_value(expected), httponly=True, samesite="strict", path="/"
    )
    return response
