"""The hook's own modules as one marshalled file: one read instead of ~20 imports per hook run.

Every hook run imports the same ~20 modules of this package before it does any work. Through the
normal import system each costs a directory lookup, a stat of its source, an open and read of its
``.pyc`` and the unmarshalling of its docstrings: together over a millisecond of a run whose whole
budget is 3 ms. The bundle holds their code objects, compiled once without docstrings (asserts and
everything else kept: only the text goes), each beside its source's path, mtime and size.

A run stats those sources (microseconds) and serves the modules from the bundle only when every one
is unchanged and the interpreter is the one that wrote it; otherwise it imports as usual and writes
a fresh bundle once its work is done. A bundle that is missing, stale, unreadable or unwritable only
costs the normal imports. Code objects keep their real file names and line tables, so tracebacks
read as usual. The file lives in ``__pycache__`` beside this module (where Python caches bytecode,
with the same write access), else in the user's state directory.

Imports here are only built-in modules (and annotations are strings rather than ``from __future__
import annotations``, itself an import): whatever this module imports could not come from the bundle.
"""

import marshal
import posix
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ast
    from collections.abc import Iterable, Sequence
    from importlib.machinery import ModuleSpec
    from types import CodeType, ModuleType

_PACKAGE = "traceability."
_FILE_NAME = f"hook-modules.{sys.implementation.cache_tag}.marshal"
_HERE = __file__.rpartition("/")[0] or "."
_MAX_BYTES = 16 << 20
# ``sys`` is a built-in module: its spec is an instance of the import system's ModuleSpec, which
# this module can then build without importing importlib.
_ModuleSpec = type(sys.__spec__)


def _key() -> str:
    """What the marshalled code depends on: the interpreter build (marshal's format, bytecode)."""
    return f"{sys.version}|{sys.implementation.cache_tag}|{marshal.version}"


def _primary_path() -> str:
    return f"{_HERE}/__pycache__/{_FILE_NAME}"


def _fallback_path() -> str:
    from traceability.instrumentation import posix_fs

    return posix_fs.join(posix_fs.state_home(), "traceability", "cache", _FILE_NAME)


class _BundleFinder:
    """A meta-path finder and loader serving the bundled modules' code objects."""

    def __init__(self, modules: "dict[str, tuple[str, CodeType]]") -> None:
        self._modules = modules

    def find_spec(
        self, name: str, path: "Sequence[str] | None" = None, target: "ModuleType | None" = None
    ) -> "ModuleSpec | None":
        entry = self._modules.get(name)
        if entry is None:
            return None
        spec: ModuleSpec = _ModuleSpec(name, self, origin=entry[0])  # type: ignore[arg-type]  # duck-typed Loader
        spec.has_location = True  # sets __file__ from origin, as a file-based import would
        return spec

    def create_module(self, spec: "ModuleSpec") -> None:
        return None  # the default module object

    def exec_module(self, module: "ModuleType") -> None:
        exec(self._modules[module.__name__][1], module.__dict__)


def _read(path: str) -> bytes:
    fd = posix.open(path, posix.O_RDONLY | posix.O_CLOEXEC)
    try:
        chunks = []
        total = 0
        while chunk := posix.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if total > _MAX_BYTES:
                raise ValueError(f"{path}: over {_MAX_BYTES} bytes")
        return b"".join(chunks)
    finally:
        posix.close(fd)


def _current(
    entries: "list[tuple[str, str, int, int, CodeType]]",
) -> "dict[str, tuple[str, CodeType]]":
    """The bundled modules by name; empty if any source changed since the bundle was written."""
    modules: dict[str, tuple[str, CodeType]] = {}
    for name, path, mtime_ns, size, code in entries:
        status = posix.stat(path)
        if status.st_mtime_ns != mtime_ns or status.st_size != size:
            return {}
        modules[name] = (path, code)
    return modules


def install() -> bool:
    """Serve this process's imports of the bundled modules from the bundle; False when there is no
    current bundle (the caller then imports as usual and calls ``write`` afterwards). A stale bundle
    in the first place may sit beside a current one in the second (the first being unwritable)."""
    for locate in (_primary_path, _fallback_path):
        try:
            key, entries = marshal.loads(_read(locate()))
            modules = _current(entries) if key == _key() else {}
        except Exception:  # missing, unreadable or not a bundle (any reason): the next place
            continue
        if modules:
            sys.meta_path.insert(0, _BundleFinder(modules))
            return True
    return False


def loaded_modules() -> list[str]:
    """This package's plain modules imported so far (packages are registered, not loaded)."""
    return [
        name
        for name, module in list(sys.modules.items())
        if name.startswith(_PACKAGE)
        and name != __name__
        and str(getattr(module, "__file__", "")).endswith(".py")
    ]


def _strip_docstrings(tree: "ast.Module") -> None:
    import ast

    scopes = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    for node in ast.walk(tree):
        if isinstance(node, scopes) and ast.get_docstring(node, clean=False) is not None:
            first = node.body[0]
            node.body = node.body[1:] or [ast.Pass(lineno=first.lineno, col_offset=first.col_offset)]


def compile_module(path: str) -> "CodeType":
    """``path`` compiled as Python would import it, less its docstrings; ``from __future__ import
    annotations`` becomes the compiler flag it stands for, so running it imports nothing."""
    import __future__

    import ast

    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    tree = ast.parse(source, path)
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
    return code


def write(names: "Iterable[str]") -> "str | None":
    """A bundle of the modules ``names`` (as imported now), written where ``install`` looks first
    that is writable; its path, or None when nowhere is (or a module cannot be read)."""
    from traceability.instrumentation import posix_fs

    entries = []
    try:
        for name in sorted(names):
            path = str(getattr(sys.modules[name], "__file__", ""))
            before = posix.stat(path)
            code = compile_module(path)
            after = posix.stat(path)
            if (before.st_mtime_ns, before.st_size) != (after.st_mtime_ns, after.st_size):
                return None  # edited while read: the next run tries again
            entries.append((name, path, before.st_mtime_ns, before.st_size, code))
        data = marshal.dumps((_key(), entries))
    except Exception:  # whatever stops it (a module unreadable, invalid): the next run tries again
        return None
    for locate in (_primary_path, _fallback_path):
        target = locate()
        try:
            posix_fs.makedirs(posix_fs.dirname(target), 0o755)
            posix_fs.write_atomic(target, data, mode=0o644)
            return target
        except (OSError, ValueError):
            continue  # not writable: the next place
    return None
