"""Mounting the web UI on the API app: its pages, its static files, its HTML error pages.

The UI shares the API's process, pool, store layer and access rules. Errors on UI paths are pages
(with a link back) instead of the API's JSON bodies; API paths keep their JSON errors.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from traceability.exporter.storage.errors import TRANSIENT_DB_ERRORS
from traceability.lineage_api.errors import ApiError, as_api_error
from traceability.lineage_api.store.errors import DomainError
from traceability.lineage_api.ui import (
    auth,
    overview_pages,
    pattern_pages,
    rendering,
    session_pages,
    turn_pages,
)

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def _ui_aware(original: Handler | None) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if auth.is_ui_path(request.url.path) or original is None:
            return _as_page(request, exc)
        result = original(request, exc)
        return await result if isinstance(result, Awaitable) else result

    return handle


def _as_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, rendering.PageError):
        return rendering.error_page(request, exc.status_code, exc.message)
    if isinstance(exc, DomainError):
        exc = as_api_error(exc)
    if isinstance(exc, ApiError):
        return rendering.error_page(request, exc.status_code, exc.message)
    if isinstance(exc, StarletteHTTPException):
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        return rendering.error_page(request, exc.status_code, message)
    if isinstance(exc, TRANSIENT_DB_ERRORS):
        return rendering.error_page(
            request, 503, "the database cannot be reached right now; try again shortly"
        )
    log.exception("UI page failed: %s", request.url.path, exc_info=exc)
    return rendering.error_page(request, 500, "this page failed; the error is in the API's log")


def install_ui(app: FastAPI) -> None:
    """Add the UI's routes and error pages; call after the API's own handlers are installed.

    The sign-in cookie middleware is one of the API's guards (``http_guards``), so that the Host
    check and body limits stay outermost.
    """
    for module in (session_pages, turn_pages, pattern_pages, overview_pages):
        app.include_router(module.router)
    app.mount(auth.STATIC_PREFIX.rstrip("/"), StaticFiles(directory=STATIC_DIR), name="static")
    for error_class in (
        rendering.PageError,
        ApiError,
        DomainError,
        StarletteHTTPException,
        *TRANSIENT_DB_ERRORS,
        Exception,
    ):
        app.add_exception_handler(error_class, _ui_aware(app.exception_handlers.get(error_class)))
