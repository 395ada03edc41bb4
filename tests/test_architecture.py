"""The import rules of docs/architecture.md, and the size of a source module, checked on the source.

The table of allowed imports is read from docs/architecture.md itself (between its ``import-rules``
markers), so the document and the check cannot drift apart. Every import counts: at module level,
inside a function (a lazy import), under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE_DOC = ROOT / "docs" / "architecture.md"
DIST = "traceability"  # source packages are imported as traceability.<package>
NOT_SOURCE = frozenset({"tests", "bench", "examples"})  # first-party folders no source module imports
MAX_LINES = 400

# Known breaks of the rules that other work in progress removes (a module being split, a module being
# moved). An entry that no longer breaks a rule fails the test too, so the lists only shrink.
PENDING_OVERSIZED: frozenset[str] = frozenset()
PENDING_IMPORTS: frozenset[str] = frozenset()


def read_rules(doc: str) -> dict[str, frozenset[str]]:
    """``{package: packages it may import}`` from the Markdown table between the import-rules markers."""
    found = re.search(r"<!-- import-rules[^>]*-->(.*?)<!-- /import-rules -->", doc, re.DOTALL)
    if found is None:
        raise ValueError("no <!-- import-rules --> ... <!-- /import-rules --> table")
    rules: dict[str, frozenset[str]] = {}
    for line in found.group(1).strip().splitlines()[2:]:  # after the header and its --- row
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2:
            raise ValueError(f"not a two-column row: {line!r}")
        (package,) = re.findall(r"`([a-z_]+)`", cells[0])
        rules[package] = frozenset(re.findall(r"`([a-z_]+)`", cells[1]))
    unknown = {dep for deps in rules.values() for dep in deps} - set(rules)
    if unknown:
        raise ValueError(f"rules name packages without a row: {sorted(unknown)}")
    return rules


def _module_name(root: Path, path: Path) -> list[str]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(root: Path, path: Path) -> list[str]:
    """Every module ``path`` imports, absolute; a relative import is resolved against the file's package
    as it is installed (``traceability.<folder>...``)."""
    tree = ast.parse(path.read_text(), str(path))
    package = [DIST, *_module_name(root, path)]
    if path.name != "__init__.py":
        package = package[:-1]
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                module = node.module or ""
            else:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            if module == DIST:  # `from traceability import hooks`: the names are the packages
                found.extend(f"{DIST}.{alias.name}" for alias in node.names)
            else:
                found.append(module)
    return found


def import_violations(root: Path, rules: dict[str, frozenset[str]]) -> list[str]:
    """One line per import in a source package that the rules do not allow."""
    bad: list[str] = []
    for package in sorted(rules):
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            for module in imported_modules(root, path):
                top, _, rest = module.partition(".")
                if top == DIST:
                    target = rest.partition(".")[0]
                    if target not in rules:
                        bad.append(f"{rel} imports {module} (no such package in the rules)")
                    elif target != package and target not in rules[package]:
                        bad.append(f"{rel} imports {module} ({package} may not import {target})")
                elif top in rules:
                    bad.append(f"{rel} imports {module} by its folder name (import {DIST}.{module})")
                elif top in NOT_SOURCE:
                    bad.append(f"{rel} imports {module} (source never imports {top}/)")
    return bad


def oversized(root: Path, packages: list[str], limit: int = MAX_LINES) -> list[str]:
    """Source modules longer than ``limit`` lines (Alembic migrations are not counted)."""
    return [
        path.relative_to(root).as_posix()
        for package in sorted(packages)
        for path in sorted((root / package).rglob("*.py"))
        if "migrations" not in path.relative_to(root).parts and len(path.read_text().splitlines()) > limit
    ]


def _installed_packages() -> list[str]:
    """The top-level source folders, from pyproject.toml's setuptools package-dir."""
    package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    return sorted(name.split(".", 1)[1] for name in package_dir)


def test_the_rules_name_every_source_package() -> None:
    assert sorted(read_rules(ARCHITECTURE_DOC.read_text())) == _installed_packages()


def test_source_imports_follow_docs_architecture() -> None:
    found = set(import_violations(ROOT, read_rules(ARCHITECTURE_DOC.read_text())))
    assert sorted(found - PENDING_IMPORTS) == []
    assert sorted(PENDING_IMPORTS - found) == [], "fixed: remove these from PENDING_IMPORTS"


def test_no_source_module_is_over_400_lines() -> None:
    found = set(oversized(ROOT, _installed_packages()))
    assert sorted(found - PENDING_OVERSIZED) == []
    assert sorted(PENDING_OVERSIZED - found) == [], "split: remove these from PENDING_OVERSIZED"


def test_mypy_sees_every_package_under_its_installed_name() -> None:
    """.typecheck/traceability/ holds one relative symlink per package (see docs/architecture.md)."""
    links = ROOT / ".typecheck" / DIST
    assert sorted(p.name for p in links.iterdir()) == _installed_packages()
    for link in links.iterdir():
        assert link.is_symlink() and link.resolve() == ROOT / link.name


def test_the_checker_sees_each_kind_of_break(tmp_path: Path) -> None:
    doc = (
        "<!-- import-rules -->\n| package | may import |\n|---|---|\n"
        "| `base` | (nothing) |\n| `leaf` | `base` |\n| `top` | `base`, `leaf` |\n<!-- /import-rules -->\n"
    )
    rules = read_rules(doc)
    assert rules == {"base": frozenset(), "leaf": frozenset({"base"}), "top": frozenset({"base", "leaf"})}
    files = {
        "base/__init__.py": "",
        "base/a.py": "def f() -> None:\n    from traceability.leaf import x\n",
        "base/b.py": "from traceability.base import a\nimport os\n",
        "leaf/__init__.py": "from .. import top\n",
        "leaf/c.py": "from . import d\nimport leaf.d\n",
        "leaf/d.py": "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    from traceability.top.e import E\n",
        "top/e.py": "from traceability.leaf import c\nfrom traceability.nowhere import y\nfrom tests.support import z\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert import_violations(tmp_path, rules) == [
        "base/a.py imports traceability.leaf (base may not import leaf)",
        "leaf/__init__.py imports traceability.top (leaf may not import top)",
        "leaf/c.py imports leaf.d by its folder name (import traceability.leaf.d)",
        "leaf/d.py imports traceability.top.e (leaf may not import top)",
        "top/e.py imports traceability.nowhere (no such package in the rules)",
        "top/e.py imports tests.support (source never imports tests/)",
    ]
    (tmp_path / "top" / "migrations").mkdir()
    (tmp_path / "top" / "migrations" / "long.py").write_text("x = 1\n" * 5)
    (tmp_path / "top" / "long.py").write_text("x = 1\n" * 5)
    (tmp_path / "top" / "ok.py").write_text("x = 1\n" * 4)
    assert oversized(tmp_path, ["base", "leaf", "top"], limit=4) == ["top/long.py"]


@pytest.mark.parametrize(
    "doc",
    [
        "no table",
        "<!-- import-rules -->\n| p | m |\n|---|---|\n| `a` | `b` |\n<!-- /import-rules -->",
        "<!-- import-rules -->\n| p | m |\n|---|---|\n| `a` | `a` | x |\n<!-- /import-rules -->",
    ],
)
def test_a_malformed_rules_table_is_an_error(doc: str) -> None:
    with pytest.raises(ValueError):
        read_rules(doc)
