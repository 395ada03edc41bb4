"""The tests' own structure: helpers live in tests/support/, so a module under tests/ imports from
tests/ only tests.support (never another test module or a helper beside one), no private name of
another module, and nothing under bench/ (bench may use tests/support/, never the reverse)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.ImportFrom):
            found.append(("." * node.level + (node.module or ""), [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names)
    return found


def _offences(path: Path) -> list[str]:
    rel = path.name
    bad = []
    for module, names in _imports(path):
        if module.startswith("."):
            bad.append(f"{rel}: relative import {module} (import from tests.support instead)")
        elif module == "bench" or module.startswith("bench."):
            bad.append(f"{rel}: imports {module} (tests must not depend on bench/)")
        elif module == "tests" or module.startswith("tests."):
            last = module.rsplit(".", 1)[-1]
            if last.startswith("test_") or last == "conftest":
                bad.append(f"{rel}: imports the test module {module}")
            elif module != "tests.support" and not module.startswith("tests.support."):
                bad.append(f"{rel}: imports {module} (helpers live in tests/support)")
            bad.extend(f"{rel}: imports the private name {module}.{n}" for n in names if n.startswith("_"))
    return bad


def test_no_test_imports_another_test_module_a_private_name_or_bench() -> None:
    offences = [
        f"{path.relative_to(TESTS)} {o}" for path in sorted(TESTS.rglob("*.py")) for o in _offences(path)
    ]
    assert offences == []


def test_the_check_sees_each_kind_of_offence(tmp_path: Path) -> None:
    planted = tmp_path / "test_probe.py"
    planted.write_text(
        "from bench.soak import x\n"
        "from tests.collector.test_otlp_http import fetch\n"
        "from tests.support.db import _private\n"
        "from tests.conftest import FIXTURES_DIR\n"
        "from .db import fetch\n"
        "from tests.instrumentation.otlp_checks import decode\n"
        "from tests.security import hostile\n"
        "from tests.support import hooks\n"
    )
    assert _offences(planted) == [
        "test_probe.py: imports bench.soak (tests must not depend on bench/)",
        "test_probe.py: imports the test module tests.collector.test_otlp_http",
        "test_probe.py: imports the private name tests.support.db._private",
        "test_probe.py: imports the test module tests.conftest",
        "test_probe.py: relative import .db (import from tests.support instead)",
        "test_probe.py: imports tests.instrumentation.otlp_checks (helpers live in tests/support)",
        "test_probe.py: imports tests.security (helpers live in tests/support)",
    ]
