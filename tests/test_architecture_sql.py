"""The lineage API's layering: all its SQL lives in ``lineage_api/store/``, and the store speaks
no HTTP (it raises the domain errors of ``store/errors.py``; the API maps them to statuses).

Read from the source with ``ast``: a call of a database method (``conn.fetch(...)`` and the like)
or a string literal that reads as SQL outside the store is an offence, and so is a store module
importing FastAPI, Starlette or the API's HTTP errors.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

LINEAGE_API = Path(__file__).resolve().parent.parent / "lineage_api"
STORE = LINEAGE_API / "store"

# asyncpg's Connection / Pool methods that send SQL
DB_METHODS = frozenset(
    {
        "execute",
        "executemany",
        "fetch",
        "fetchrow",
        "fetchval",
        "cursor",
        "prepare",
        "copy_records_to_table",
        "copy_to_table",
        "copy_from_query",
        "copy_from_table",
    }
)
SQL = re.compile(
    r"\b(SELECT\s[\s\S]+?\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|WITH\s+(RECURSIVE\s+)?\w+\s*(\([^)]*\)\s*)?AS"
    r"|SET\s+LOCAL|CREATE\s+(TABLE|INDEX)|ON\s+CONFLICT)\b"
)
HTTP_MODULES = ("fastapi", "starlette", "traceability.lineage_api.errors")


def _outside_store() -> list[Path]:
    return [p for p in sorted(LINEAGE_API.rglob("*.py")) if STORE not in p.parents]


def sql_offences(source: str, label: str) -> list[str]:
    """Database calls and SQL string literals in ``source`` (a module's text)."""
    found = []
    for node in ast.walk(ast.parse(source, label)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in DB_METHODS
        ):
            found.append(f"{label}:{node.lineno}: calls .{node.func.attr}(...)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append(f"{label}:{node.lineno}: SQL in a string: {node.value.strip()[:50]!r}")
    return found


def http_imports(path: Path) -> list[str]:
    rel = path.relative_to(LINEAGE_API.parent)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [f"{rel}:{node.lineno}: imports {n}" for n in names if n.startswith(HTTP_MODULES)]
    return found


def test_the_scan_finds_sql_and_database_calls() -> None:
    """The detector itself: it sees what it is meant to forbid, and passes prose."""
    source = (
        'Q = """\nSELECT id\nFROM pattern_lineage_nodes\n"""\n'
        "async def f(conn):\n    await conn.fetchval('SELECT 1')\n"
        'W = "WITH RECURSIVE up(id) AS (SELECT 1)"\n'
        'U = "UPDATE pattern_lineage_nodes SET status = $2"\n'
        'OK = "select the pattern from the list, then update it"\n'
    )
    found = sql_offences(source, "sample.py")
    # the SQL constant, the call, the CTE, the UPDATE; not the prose on line 9
    assert sorted(int(f.split(":")[1]) for f in found) == [1, 6, 7, 8], found


def test_no_module_outside_the_store_executes_sql() -> None:
    modules = _outside_store()
    assert len(modules) > 30  # the scan reads the package, not an empty folder
    offences = [
        o
        for path in modules
        for o in sql_offences(path.read_text(), str(path.relative_to(LINEAGE_API.parent)))
    ]
    assert offences == [], "SQL belongs in lineage_api/store/:\n" + "\n".join(offences)


def test_the_store_speaks_no_http() -> None:
    modules = sorted(STORE.glob("*.py"))
    assert len(modules) > 5
    offences = [o for path in modules for o in http_imports(path)]
    assert offences == [], "the store raises store.errors, never HTTP errors:\n" + "\n".join(offences)
