"""Every environment variable name lives once, in instrumentation/env.py: no other source module
spells one as a string literal, and env.py names none twice."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from traceability.instrumentation import env

ROOT = Path(env.__file__).resolve().parents[1]
SOURCE_PACKAGES = ("instrumentation", "collector", "exporter", "lineage_api", "hooks", "cli", "serving")
ENV_PY = ROOT / "instrumentation" / "env.py"
# the project's own prefixes and the standard names it reads or writes
NAME = re.compile(r"(TRACEABILITY|INTELLIGENCE|OTEL|CLAUDE_CODE)_[A-Z0-9_]*")


def names_in_env_py() -> dict[str, str]:
    """Constant -> variable name, for every ``*_ENV`` constant of env.py."""
    return {key: value for key, value in vars(env).items() if key.endswith("_ENV") and isinstance(value, str)}


def literal_names(path: Path, root: Path = ROOT) -> list[str]:
    """String literals of ``path`` that are a variable name (or a name's prefix), with their lines."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            text = node.value.decode() if isinstance(node.value, bytes) else node.value
            if NAME.fullmatch(text):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {text!r}")
    return found


def test_no_module_outside_env_py_spells_a_variable_name() -> None:
    offences = [
        hit
        for package in SOURCE_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ENV_PY and "migrations" not in path.parts
        for hit in literal_names(path)
    ]
    assert offences == []


def test_the_scan_sees_names_prefixes_and_bytes(tmp_path: Path) -> None:
    planted = tmp_path / "probe.py"
    planted.write_text(
        'A = "TRACEABILITY_SPOOL_DIR"\nB = b"TRACEABILITY_HOOK_NOW_NS"\nC = "TRACEABILITY_"\n'
        'D = "OTEL_EXPORTER_OTLP_ENDPOINT"\nE = "see TRACEABILITY_SPOOL_DIR"  # prose is fine\n'
    )
    hits = [hit.split(": ", 1)[1] for hit in literal_names(planted, tmp_path)]
    assert hits == [
        "'TRACEABILITY_SPOOL_DIR'",
        "'TRACEABILITY_HOOK_NOW_NS'",
        "'TRACEABILITY_'",
        "'OTEL_EXPORTER_OTLP_ENDPOINT'",
    ]


def test_env_py_names_each_variable_once() -> None:
    values = list(names_in_env_py().values())
    assert len(values) == len(set(values)), sorted(v for v in values if values.count(v) > 1)
    assert len(values) >= 60  # every variable: hooks, services, commands, OTel/Claude Code, tests
