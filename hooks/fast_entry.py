"""The fast hook entry point: ``/abs/venv/bin/python -I -S /abs/path/hooks/fast_entry.py``.

``-I -S`` skips site-packages (and with them the editable-install finder and every ``.pth`` file),
so this script finds its own source: the folder it lives in is ``traceability.hooks`` and its parent
holds ``traceability``'s sub-packages (the repository root in an editable install, or
``site-packages/traceability``). The packages are registered directly, without running their
``__init__`` files (``traceability.instrumentation``'s imports ``typing``: ~11 ms), and with them
``traceability.instrumentation.redaction``, whose modules the hook imports on every run.

Python compiles a script on every run (only imported modules have cached bytecode), so this one
only registers the packages; hooks/startup.py does the rest. ``--warm`` fills its caches and exits.
"""

import sys
import time

started_ns = time.time_ns()
hooks = __file__.rpartition("/")[0] or "."
root = hooks.rpartition("/")[0] or "."
for name, path in (
    ("traceability", root),
    ("traceability.hooks", hooks),
    ("traceability.instrumentation", root + "/instrumentation"),
    ("traceability.instrumentation.redaction", root + "/instrumentation/redaction"),
):
    if name not in sys.modules:
        module = type(sys)(name)
        module.__path__ = [path]
        sys.modules[name] = module
from traceability.hooks.startup import run  # noqa: E402 - found through the packages just registered

run(started_ns, warm_only=sys.argv[1:] == ["--warm"])
