"""What every UI page shares: the templates, the error page, and query parameters parsed into 400s.

Parameters are parsed here rather than by FastAPI so that a malformed one is a 400 page with a
link back, not the API's JSON 422.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from traceability.lineage_api.ui import views

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["duration"] = views.duration_text
TEMPLATES.env.filters["when"] = views.when
TEMPLATES.env.filters["pretty"] = views.pretty_json


def status_label(status: str) -> str:
    return views.STATUS_LABELS.get(status, status)


TEMPLATES.env.globals["status_label"] = status_label

PAGE_SIZE = 50


class PageError(Exception):
    """A 400 or 404 shown as a page that links back."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, "error.html", {"status": status_code, "message": message}, status_code=status_code
    )


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    settings = request.app.state.settings
    context = {"nav": name.split(".")[0], "writes_open": settings.access.token is None, **context}
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > 500:
        raise PageError(400, f"'{name}' is longer than 500 characters")
    return value.strip()


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = param(request, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise PageError(400, f"'{name}' must be a whole number, not {text!r}") from None
    if not low <= value <= high:
        raise PageError(400, f"'{name}' must be between {low} and {high}")
    return value


def date_param(request: Request, name: str) -> datetime | None:
    text = param(request, name)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise PageError(400, f"'{name}' must be a date like 2026-11-30, not {text!r}") from None
    if not 1980 <= parsed.year <= 9000:
        raise PageError(400, f"'{name}' must be between the years 1980 and 9000")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_of(request: Request) -> datetime:
    """The end of the charts' window: ``as_of`` when given (stable links), else now."""
    return date_param(request, "as_of") or datetime.now(UTC)
