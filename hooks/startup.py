"""How a hook process starts and ends fast: its modules run from one marshalled file, no teardown.

``run`` is what hooks/fast_entry.py calls. Every hook run executes the same ~20 modules of this
package before it does any work. Through the import system each costs a directory lookup, a stat of
its source, an open and read of its ``.pyc``, the unmarshalling of its docstrings and the import
machinery's own Python code (module locks, spec and attribute set-up): together ~1.5 ms of a run
whose whole budget is 3 ms.

The bundle (written by hooks/bundle_build.py) holds their code objects, compiled without docstrings
(everything else kept), in the order a normal import runs them, each beside its source's path, mtime
and size. A run stats those sources (microseconds) and, when every one is unchanged and the
interpreter is the one that wrote it, executes the modules straight into ``sys.modules`` in that
order, as the import system would have; otherwise it imports as usual and writes a fresh bundle
once its work is done. A bundle that is missing, stale, unreadable or unwritable only costs the
normal imports. Code objects keep their real file names and line tables, so tracebacks read as
usual. The file lives in ``__pycache__`` beside this module (where Python caches bytecode, with the
same write access), else in the user's state directory.

Imports here are only built-in modules (and annotations are strings rather than ``from __future__
import annotations``, itself an import): whatever this module imports could not come from the bundle.
"""

import marshal
import posix
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType

    Entry = tuple[str, str, int, int, CodeType]  # name, source path, its mtime_ns and size, code

PACKAGE = "traceability."
# extension modules every run imports (instrumentation/otlp_json.py: the JSON accelerator); the
# bundle holds the file each was found in
EXTENSIONS = ("_json",)
FILE_NAME = f"hook-modules.{sys.implementation.cache_tag}.marshal"
_HERE = __file__.rpartition("/")[0] or "."
_MAX_BYTES = 16 << 20
_Module = type(sys)


def key() -> str:
    """What the marshalled code depends on: the interpreter build (marshal's format, bytecode)."""
    return f"{sys.version}|{sys.implementation.cache_tag}|{marshal.version}"


def primary_path() -> str:
    return f"{_HERE}/__pycache__/{FILE_NAME}"


def fallback_path() -> str:
    from traceability.instrumentation import posix_fs

    return posix_fs.join(posix_fs.state_home(), "traceability", "cache", FILE_NAME)


def _read(path: str) -> bytes:
    """The file's bytes in one read sized by ``fstat`` (a read loop's oversized buffer costs page
    faults); a short read would only look like a corrupt bundle."""
    fd = posix.open(path, posix.O_RDONLY | posix.O_CLOEXEC)
    try:
        size = posix.fstat(fd).st_size
        if size > _MAX_BYTES:
            raise ValueError(f"{path}: over {_MAX_BYTES} bytes")
        return posix.read(fd, size)
    finally:
        posix.close(fd)


def _current(entries: "list[Entry]") -> bool:
    """Whether every bundled module's source is as it was when the bundle was written."""
    for _, path, mtime_ns, size, _ in entries:
        status = posix.stat(path)
        if status.st_mtime_ns != mtime_ns or status.st_size != size:
            return False
    return bool(entries)


def _execute(entries: "list[Entry]") -> bool:
    """Run the modules in order, each registered as an import would (in ``sys.modules`` while it
    runs, an attribute of its package once done); on any failure, undo them all and say False."""
    done: list[str] = []
    try:
        for name, path, _, _, code in entries:
            package, _, child = name.rpartition(".")
            module = _Module(name)
            module.__file__ = path
            module.__package__ = package
            sys.modules[name] = module
            done.append(name)
            exec(code, module.__dict__)
            setattr(sys.modules[package], child, module)
    except Exception:
        for name in done:
            package, _, child = name.rpartition(".")
            sys.modules.pop(name, None)
            if package in sys.modules:
                sys.modules[package].__dict__.pop(child, None)
        return False
    return True


def _load_extensions(extensions: "list[tuple[str, str]]") -> None:
    """Load each extension module (name, file) from the file the bundle's writer found it in, as
    importing it would, minus the search: the first extension a process imports costs a stat of the
    stdlib zip and listings of two stdlib directories (~0.1 ms). One that fails to load this way is
    left to the usual import."""
    bootstrap = sys.modules["_frozen_importlib"]
    external = sys.modules["_frozen_importlib_external"]
    for name, origin in extensions:
        if name in sys.modules:
            continue
        try:
            loader = external.ExtensionFileLoader(name, origin)
            module = bootstrap.module_from_spec(external.spec_from_file_location(name, origin, loader=loader))
            sys.modules[name] = module
            loader.exec_module(module)
        except Exception:  # gone or unloadable: the usual import finds it, or fails as it would have
            sys.modules.pop(name, None)


def install() -> bool:
    """Run the bundled modules now; False when there is no current bundle (the caller then imports
    as usual and calls ``bundle_build.write`` afterwards). A stale bundle in the first place may sit
    beside a current one in the second (the first being unwritable)."""
    for locate in (primary_path, fallback_path):
        try:
            bundle_key, entries, extensions = marshal.loads(_read(locate()))
            if bundle_key != key() or not _current(entries):
                continue
        except Exception:  # missing, unreadable or not a bundle (any reason): the next place
            continue
        _load_extensions(extensions)
        return _execute(entries)
    return False


def loaded_modules() -> list[str]:
    """This package's plain modules imported so far, in the order they started (packages are
    registered, not loaded)."""
    return [
        name
        for name, module in list(sys.modules.items())
        if name.startswith(PACKAGE)
        and name != __name__
        and str(getattr(module, "__file__", "")).endswith(".py")
    ]


def run(started_ns: int, *, warm_only: bool = False) -> None:
    """Run the hook on stdin (or, ``warm_only``, only fill the bundle) and exit.

    The cyclic collector is off while the modules load, then everything they created is frozen
    (``gc.freeze``: never examined again): otherwise its young-generation passes walk the thousands
    of freshly unmarshalled tuples and functions, ~0.2 ms of a hook run. The run itself collects
    as usual."""
    import gc

    gc.disable()
    bundled = install()
    from traceability.hooks.main import main

    gc.freeze()
    gc.enable()
    loaded = [] if bundled else loaded_modules()
    code = 0 if warm_only else main(started_ns)
    if loaded:  # no current bundle: write one of what this run imported, for the next runs
        from traceability.hooks.bundle_build import write

        write(loaded)
    _exit_now(code)


def _exit_now(code: int) -> None:
    """Exit without interpreter finalization (module teardown, GC): ~2 ms a hook run would spend
    tearing down what it loaded. Every file the hook writes goes through posix calls and is
    complete before this point; only Python's own stdout/stderr buffers need a flush."""
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - contextlib costs the hook ~1 ms to import
            stream.flush()
        except (OSError, ValueError):
            pass
    posix._exit(code)
