"""docs/settings.md holds one table of every variable, and it cannot drift from instrumentation/env.py:
the table lists exactly env.py's names, and no document names a variable env.py does not define."""

from __future__ import annotations

import re
from pathlib import Path

from traceability.instrumentation import env

ROOT = Path(env.__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "settings.md"
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \|(.+)\|$", re.M)
OURS = re.compile(r"\b((?:TRACEABILITY|INTELLIGENCE)_[A-Z0-9_]*[A-Z0-9])\b")


def env_names() -> set[str]:
    return {v for k, v in vars(env).items() if k.endswith("_ENV") and isinstance(v, str)}


def table_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for name, rest in ROW.findall(TABLE.read_text()):
        assert name not in rows, f"{name} has two rows"
        rows[name] = [cell.strip() for cell in rest.split("|")]
    return rows


def test_the_table_lists_exactly_the_names_of_env_py() -> None:
    rows = table_rows()
    assert sorted(set(rows) - env_names()) == []  # in the table, not in env.py
    assert sorted(env_names() - set(rows)) == []  # in env.py, not in the table
    for name, cells in rows.items():
        assert len(cells) == 3 and cells[0], f"{name}: every row says who reads it"


def test_no_document_names_a_variable_env_py_does_not_define() -> None:
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    unknown = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in documents
        for name in OURS.findall(path.read_text())
        if name not in env_names()
    }
    assert sorted(unknown) == []


def test_the_checks_see_a_missing_row_and_an_unknown_name() -> None:
    text = TABLE.read_text()
    without = ROW.sub(lambda m: "" if m.group(1) == env.FSYNC_ENV else m.group(0), text)
    assert env.FSYNC_ENV in {n for n, _ in ROW.findall(text)} - {n for n, _ in ROW.findall(without)}
    assert OURS.findall("set `TRACEABILITY_NO_SUCH_THING=1` or TRACEABILITY_SPOOL_DIR.") == [
        "TRACEABILITY_NO_SUCH_THING",
        "TRACEABILITY_SPOOL_DIR",
    ]
