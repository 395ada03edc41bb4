"""Split written code into pattern units: Python per function and class (qualified names), else whole."""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import PurePosixPath

FILE_UNIT = "<file>"  # a whole file written by Write (non-Python, or Python without definitions)
SNIPPET_UNIT = "<snippet>"  # text written by Edit/MultiEdit that is not a whole Python definition


@dataclass(frozen=True)
class CodeUnit:
    qualified_name: str  # e.g. "Cache.get"; FILE_UNIT / SNIPPET_UNIT for whole texts
    kind: str  # function | method | class | file | snippet
    name: str  # human-readable pattern name
    code: str


def split_units(code: str, language: str, file_path: str | None, tool_name: str | None) -> list[CodeUnit]:
    whole_kind, whole_name = ("file", FILE_UNIT) if tool_name == "Write" else ("snippet", SNIPPET_UNIT)
    label = PurePosixPath(file_path).name if file_path else whole_name
    if not code.strip():
        return []
    if language == "python":
        tree, source = _parse_python(code)
        if tree is not None:
            units = list(_python_units(tree.body, source.splitlines(), prefix="", in_class=False))
            if units:
                return units
    return [CodeUnit(whole_name, whole_kind, label, code)]


def _parse_python(code: str) -> tuple[ast.Module | None, str]:
    for source in (code, textwrap.dedent(code)):
        try:
            return ast.parse(source), source
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # deep nesting exhausts the parser
            continue
    return None, code


def _python_units(body: list[ast.stmt], lines: list[str], *, prefix: str, in_class: bool) -> list[CodeUnit]:
    units: list[CodeUnit] = []
    for node in body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        end = node.end_lineno or node.lineno
        segment = textwrap.dedent("\n".join(lines[start - 1 : end]))
        qualified = f"{prefix}{node.name}"
        if isinstance(node, ast.ClassDef):
            units.append(CodeUnit(qualified, "class", qualified, segment))
            units += _python_units(node.body, lines, prefix=f"{qualified}.", in_class=True)
        else:
            units.append(CodeUnit(qualified, "method" if in_class else "function", qualified, segment))
    return units
