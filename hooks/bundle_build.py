"""Write the bundle hooks/startup.py runs the hook's modules from: their code objects without
docstrings, in the order a normal import executes them, each with its source's mtime and size; and
the files of the extension modules a run imports.

Only a run that found no current bundle (or ``traceability hooks install``) gets here, so this may
import what the hook path never does (``ast``).
"""

from __future__ import annotations
import __future__

import ast
import marshal
import posix
import sys
from collections.abc import Iterable, Iterator
from types import CodeType

from traceability.hooks import startup
from traceability.instrumentation import posix_fs

_SCOPES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _strip_docstrings(tree: ast.Module) -> None:
    for node in ast.walk(tree):
        if isinstance(node, _SCOPES) and ast.get_docstring(node, clean=False) is not None:
            first = node.body[0]
            node.body = node.body[1:] or [ast.Pass(lineno=first.lineno, col_offset=first.col_offset)]


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _imports(statements: list[ast.stmt]) -> Iterator[str]:
    """The modules the top level of a module imports as it runs, in order: what each ``import`` and
    ``from ... import`` could name (``from a import b`` names ``a`` and ``a.b``), including those in
    module-level ``if``/``try``/``with`` blocks, but not under ``if TYPE_CHECKING:`` nor in functions."""
    for statement in statements:
        if isinstance(statement, ast.Import):
            yield from (alias.name for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
            yield statement.module
            yield from (f"{statement.module}.{alias.name}" for alias in statement.names)
        elif isinstance(statement, ast.If):
            if not _is_type_checking(statement.test):
                yield from _imports(statement.body)
            yield from _imports(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, *(h.body for h in statement.handlers), statement.orelse):
                yield from _imports(block)
            yield from _imports(statement.finalbody)
        elif isinstance(statement, ast.With):
            yield from _imports(statement.body)


def _compile(path: str) -> tuple[CodeType, list[str]]:
    """``path`` compiled as Python would import it, less its docstrings, and what it imports.
    ``from __future__ import annotations`` becomes the compiler flag it stands for, so running it
    imports nothing."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    _strip_docstrings(tree)
    flags = 0
    body = []
    for statement in tree.body:
        if (
            isinstance(statement, ast.ImportFrom)
            and statement.module == "__future__"
            and [alias.name for alias in statement.names] == ["annotations"]
        ):
            flags |= __future__.annotations.compiler_flag
            continue
        body.append(statement)
    tree.body = body
    code: CodeType = compile(tree, path, "exec", flags=flags, dont_inherit=True)
    return code, list(_imports(tree.body))


def compile_module(path: str) -> CodeType:
    """The code object the bundle holds for the module at ``path``."""
    return _compile(path)[0]


def execution_order(imports: dict[str, list[str]]) -> list[str] | None:
    """The modules of ``imports`` (name -> what it imports, in order; dict order = the order they
    started) in the order a normal import finishes them: depth first along the imports. None when
    that order would run a module before one it imports (a cycle): no bundle then."""
    order: list[str] = []
    started: set[str] = set()

    def visit(name: str) -> None:
        started.add(name)
        for dependency in imports[name]:
            if dependency in imports and dependency not in started:
                visit(dependency)
        order.append(name)

    for name in imports:
        if name not in started:
            visit(name)
    position = {name: i for i, name in enumerate(order)}
    for name, dependencies in imports.items():
        if any(position.get(d, -1) > position[name] for d in dependencies):
            return None
    return order


def extension_files() -> list[tuple[str, str]]:
    """(name, file) of each of ``startup.EXTENSIONS`` that this interpreter has as a shared library
    (one built into it needs no search, and is left out)."""
    from importlib.machinery import ExtensionFileLoader
    from importlib.util import find_spec

    found = []
    for name in startup.EXTENSIONS:
        try:
            spec = find_spec(name)
        except (ImportError, ValueError):  # not findable: the run imports it as usual
            continue
        if spec is not None and isinstance(spec.loader, ExtensionFileLoader) and spec.origin:
            found.append((name, spec.origin))
    return found


def write(names: Iterable[str]) -> str | None:
    """A bundle of the modules ``names`` (as started by this run's imports), written where
    ``startup.install`` looks first that is writable; its path, or None when nowhere is (or a module
    cannot be read or ordered)."""
    compiled: dict[str, startup.Entry] = {}
    imports: dict[str, list[str]] = {}
    try:
        for name in names:
            path = str(getattr(sys.modules[name], "__file__", ""))
            before = posix.stat(path)
            code, imports[name] = _compile(path)
            after = posix.stat(path)
            if (before.st_mtime_ns, before.st_size) != (after.st_mtime_ns, after.st_size):
                return None  # edited while read: the next run tries again
            compiled[name] = (name, path, before.st_mtime_ns, before.st_size, code)
        order = execution_order(imports)
        if order is None:
            return None
        data = marshal.dumps((startup.key(), [compiled[name] for name in order], extension_files()))
    except Exception:  # whatever stops it (a module unreadable, invalid): the next run tries again
        return None
    for locate in (startup.primary_path, startup.fallback_path):
        target = locate()
        try:
            posix_fs.makedirs(posix_fs.dirname(target), 0o755)
            posix_fs.write_atomic(target, data, mode=0o644)
            return target
        except (OSError, ValueError):
            continue  # not writable: the next place
    return None
