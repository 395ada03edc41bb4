"""One error shape for every failure: ``{success: false, error, metadata, processing_time_ms}``.

The store and the logic modules raise domain errors (``store/errors.py``); routes raise
:class:`ApiError` for what is HTTP's own (a bad query argument, a timeout), or let a database
error escape. The handlers installed by :func:`install_error_handlers` turn everything into that
body with the right status: 404 unknown pattern/trace, 400 bad argument or a request the lineage
rules refuse, 409 a conflict with the lineage's state, 422 invalid body or query (naming the
allowed values of an enum), 503 database unavailable, 500 anything else. :data:`DOMAIN_STATUS`
is the one place a domain error gets its status.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from traceability.exporter.storage.errors import TRANSIENT_DB_ERRORS
from traceability.lineage_api.store.errors import Conflict, DomainError, InvalidRequest, NotFound

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status and a message meant for the caller."""

    def __init__(self, status_code: int, message: str, **metadata: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.metadata = metadata


class BadRequest(ApiError):
    def __init__(self, message: str, **metadata: Any) -> None:
        super().__init__(400, message, **metadata)


class DatabaseUnavailable(ApiError):
    def __init__(self, message: str, **metadata: Any) -> None:
        super().__init__(503, message, **metadata)


# The HTTP status of each domain error (a subclass takes its nearest listed base's status).
DOMAIN_STATUS: dict[type[DomainError], int] = {
    DomainError: 400,
    NotFound: 404,
    InvalidRequest: 400,
    Conflict: 409,
}


def as_api_error(exc: DomainError) -> ApiError:
    """The HTTP answer to a domain error."""
    status = next(DOMAIN_STATUS[c] for c in type(exc).__mro__ if c in DOMAIN_STATUS)
    return ApiError(status, exc.message, **exc.details)


class RequestTimer:
    """Pure ASGI middleware: records when a request started, so every body can carry its time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["started"] = time.perf_counter()
        await self.app(scope, receive, send)


def processing_time_ms(request: Request) -> float:
    started = getattr(request.state, "started", None)
    return round((time.perf_counter() - started) * 1000, 3) if started is not None else 0.0


def error_response(request: Request, status_code: int, message: str, **metadata: Any) -> JSONResponse:
    elapsed = processing_time_ms(request)
    body = {
        "success": False,
        "error": message,
        "metadata": {
            "status_code": status_code,
            "path": request.url.path,
            "processing_time_ms": elapsed,
            **metadata,
        },
        "processing_time_ms": elapsed,
    }
    return JSONResponse(body, status_code=status_code)


def _validation_message(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    """A readable one-line summary (pydantic's enum errors already list the allowed values)."""
    details: list[dict[str, Any]] = []
    parts: list[str] = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        msg = str(err.get("msg", "invalid value"))
        parts.append(f"{loc}: {msg}" if loc else msg)
        details.append({"loc": list(err.get("loc", ())), "msg": msg, "type": err.get("type")})
    return "invalid request: " + "; ".join(parts), details


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(request, exc.status_code, exc.message, **exc.metadata)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return await _api_error(request, as_api_error(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    message, details = _validation_message(exc)
    return error_response(request, 422, message, errors=details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route {request.method} {request.url.path}"
    return error_response(request, exc.status_code, message)


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL data exceptions (SQLSTATE class 22) and asyncpg's argument encoding errors are
    caused by the values a caller sent (NUL characters, out-of-range numbers): 400, not 500."""
    return error_response(request, 400, data_error_message(exc))


def data_error_message(exc: Exception) -> str:
    text = str(exc)
    hint = " (text must not contain NUL \\u0000 characters)" if "0x00" in text or "\\u0000" in text else ""
    return f"invalid value: {text}{hint}"


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, TRANSIENT_DB_ERRORS):
        log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
        return error_response(request, 503, f"database unavailable: {exc or type(exc).__name__}")
    log.exception("unhandled error during %s %s", request.method, request.url.path)
    return error_response(request, 500, f"internal error: {type(exc).__name__}: {exc}")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(asyncpg.DataError, _data_error)
    # Registered per class so they are answered by the exception middleware (not re-raised).
    for error_class in TRANSIENT_DB_ERRORS:
        app.add_exception_handler(error_class, _unhandled_error)
    app.add_exception_handler(Exception, _unhandled_error)
