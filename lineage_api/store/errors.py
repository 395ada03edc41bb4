"""What can go wrong in the lineage domain, independent of how a caller is answered.

The store and the logic modules (tracking, analytics, feedback) raise these; the API maps each
class to an HTTP status in one place (``lineage_api/errors.py``), the UI to an error page.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal with a message meant for the caller and details that name what was refused."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """A pattern, version, session, trace or improvement that is named does not exist."""


class InvalidRequest(DomainError):
    """The request contradicts the lineage rules (a pattern as its own parent, a fork without a parent)."""


class Conflict(DomainError):
    """The lineage is not in a state the request can apply to (a version deprecated since the
    analysis, a name that several patterns share)."""
