"""Database rows as the store's typed records: a frozen dataclass whose fields are the columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def row_as(cls: type[T], row: Mapping[str, Any]) -> T:
    """``cls`` built from a row whose column names are its field names (a missing or extra column raises)."""
    return cls(**dict(row.items()))


def rows_as(cls: type[T], rows: Iterable[Mapping[str, Any]]) -> list[T]:
    return [row_as(cls, row) for row in rows]
