"""The fast hook entry point: ``/abs/venv/bin/python -I -S /abs/path/hooks/fast_entry.py``.

``-I -S`` skips site-packages (and with them the editable-install finder and every ``.pth`` file),
so this script finds its own source: the folder it lives in is ``traceability.hooks`` and its parent
holds ``traceability``'s sub-packages (the repository root in an editable install, or
``site-packages/traceability``). The packages are registered directly, without running their
``__init__`` files (``traceability.instrumentation``'s imports ``typing``: ~11 ms), and with them
``traceability.instrumentation.redaction``, whose modules the hook imports on every run. Those
modules then come from one file when it is current (hooks/code_bundle.py).
"""

import sys
import time


def _run() -> int:
    started_ns = time.time_ns()
    hooks_dir = __file__.rpartition("/")[0] or "."
    root = hooks_dir.rpartition("/")[0] or "."
    module_type = type(sys)
    for name, path in (
        ("traceability", root),
        ("traceability.hooks", hooks_dir),
        ("traceability.instrumentation", root + "/instrumentation"),
        ("traceability.instrumentation.redaction", root + "/instrumentation/redaction"),
    ):
        if name not in sys.modules:
            module = module_type(name)
            module.__path__ = [path]
            sys.modules[name] = module
    from traceability.hooks import code_bundle

    bundled = code_bundle.install()
    from traceability.hooks.main import main

    loaded = [] if bundled else code_bundle.loaded_modules()
    code = 0 if sys.argv[1:] == ["--warm"] else main(started_ns)  # --warm: only fill the bundle
    if loaded:  # no current bundle: write one of what this run imported, for the next runs
        code_bundle.write(loaded)
    return code


def _exit_now(code: int) -> None:
    """Exit without interpreter finalization (module teardown, GC): ~2 ms a hook run would spend
    tearing down what it loaded. Every file the hook writes goes through posix calls and is
    complete before this point; only Python's own stdout/stderr buffers need a flush."""
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - contextlib costs the hook ~1 ms to import
            stream.flush()
        except (OSError, ValueError):
            pass
    import posix

    posix._exit(code)


if __name__ == "__main__":
    _exit_now(_run())
