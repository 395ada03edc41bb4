"""Accept a pattern's name where a pattern id is expected.

A reference is a pattern id when a pattern has that id (ids win: an id such as ``async_db_writer_v3`` looks like a name);
otherwise it is an exact ``pattern_name``: one pattern with that name resolves to its id, several
are a Conflict listing them (id, version, file), none leaves the reference as it is, so the caller
answers its usual 404.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from traceability.lineage_api.store import names as store
from traceability.lineage_api.store.errors import Conflict

MAX_CANDIDATES = 20  # listed in an ambiguity error


class AmbiguousName(Conflict):
    def __init__(self, name: str, candidates: list[dict[str, Any]], *, more: bool) -> None:
        listed = ", ".join(
            f"{c['pattern_id']} (version {c['pattern_version']}, {c['file_path'] or 'no file'})"
            for c in candidates
        )
        count = f"more than {len(candidates)}" if more else str(len(candidates))
        super().__init__(
            f"pattern name '{name}' is ambiguous: {count} patterns have it: {listed}; "
            "use one of these pattern ids",
            pattern_name=name,
            candidates=candidates,
        )


async def resolve_pattern_ref(conn: asyncpg.Connection, ref: str) -> str:
    """The pattern id ``ref`` stands for (itself when it is an id or names nothing)."""
    if await store.pattern_exists(conn, ref):
        return ref
    rows = await store.patterns_named(conn, ref, MAX_CANDIDATES + 1)
    if len(rows) == 1:
        return str(rows[0]["pattern_id"])
    if len(rows) > 1:
        raise AmbiguousName(
            ref,
            [
                {
                    "pattern_id": r["pattern_id"],
                    "pattern_name": r["pattern_name"],
                    "pattern_version": r["pattern_version"],
                    "file_path": r["file_path"],
                    "qualified_name": r["qualified_name"],
                }
                for r in rows[:MAX_CANDIDATES]
            ],
            more=len(rows) > MAX_CANDIDATES,
        )
    return ref
