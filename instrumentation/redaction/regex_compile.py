"""The redaction patterns' cache miss: compile them through ``re`` and write the cache file.

Only a process whose cache (instrumentation/redaction/regex_cache.py) is missing, stale or
unreadable gets here (``traceability hooks install`` fills it), so this may import ``re``; a hook
run with a current cache never loads this module.
"""

from __future__ import annotations

import _sre
import marshal

from traceability.instrumentation import posix_fs
from traceability.instrumentation.redaction import regex_cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _compile_args(source: str) -> tuple[Any, ...]:
    """What ``re`` passes to ``_sre.compile`` for ``source`` (captured by wrapping it once; through
    ``re._compiler`` itself, since ``re.compile`` may answer from its in-process cache)."""
    from re import _compiler  # type: ignore[attr-defined]

    captured: list[tuple[Any, ...]] = []
    real = _compiler._sre

    class _Capture:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        @staticmethod
        def compile(*args: Any) -> Any:
            captured.append(args)
            return real.compile(*args)

    _compiler._sre = _Capture()
    try:
        _compiler.compile(source, 0)
    finally:
        _compiler._sre = real
    pattern, flags, code, groups, groupindex, indexgroup = captured[-1]
    # opcodes and flags are int subclasses (enums), which marshal refuses: plain ints compile the same
    ints = [int(op) for op in code]
    return pattern, int(flags), ints, int(groups), dict(groupindex), tuple(indexgroup)


def _pack(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The code list as machine words (marshal then copies bytes instead of building ints)."""
    pattern, flags, code, groups, groupindex, indexgroup = args
    words = memoryview(bytearray(len(code) * _sre.CODESIZE)).cast("I" if _sre.CODESIZE == 4 else "H")
    for i, op in enumerate(code):
        words[i] = op
    return pattern, flags, words.tobytes(), groups, groupindex, indexgroup


def compile_and_store(file_name: str, key: str, sources: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """``sources`` compiled, packed as the cache holds them, and written to the first of
    ``regex_cache``'s directories that is writable (none: the next run compiles again)."""
    packed = [_pack(_compile_args(source)) for source in sources]
    data = marshal.dumps((key, packed))
    for directory in regex_cache._cache_dirs():
        try:
            posix_fs.makedirs(directory, 0o755)
            posix_fs.write_atomic(posix_fs.join(directory, file_name), data, mode=0o644)
            break
        except (OSError, ValueError):
            continue  # not writable: the next place, else no cache (the next run compiles again)
    return packed
