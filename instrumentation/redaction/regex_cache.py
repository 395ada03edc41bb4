"""Patterns compiled once per interpreter and kept on disk, so a hook run needs no ``re`` import.

Importing ``re`` and compiling the combined redaction patterns costs a hook process ~15-40 ms; the
result of compilation is a list of integers that ``_sre`` (built into the interpreter) turns into a
pattern object directly. The first run captures what ``re`` hands to ``_sre.compile`` and writes it,
marshalled, to ``__pycache__`` beside this module (where Python caches this module's bytecode, with
the same write access), else to the user's state directory (an install the user cannot write to);
later runs load it in well under a millisecond, and turn each entry into a pattern only when it is
first used (most redaction rules are skipped by their guard words in a hook run).
``traceability hooks install`` fills it. The file is keyed by the
interpreter version, ``_sre.MAGIC`` and the pattern sources themselves: any change recompiles. A
cache that is missing, stale, unreadable or unwritable only costs the compilation, which lives in
instrumentation/redaction/regex_compile.py: a run with a current cache never loads it.
"""

from __future__ import annotations

import _sre
import marshal
import sys

from traceability.instrumentation import posix_fs

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable
    from typing import Any

_CACHE_DIR = posix_fs.join(__file__.rpartition("/")[0] or ".", "__pycache__")


def _cache_dirs() -> tuple[str, str]:
    return _CACHE_DIR, posix_fs.join(posix_fs.state_home(), "traceability", "cache")


def _key() -> str:
    return f"{sys.version}|{_sre.MAGIC}|{_sre.CODESIZE}"


def _unpack(packed: tuple[Any, ...]) -> tuple[Any, ...]:
    pattern, flags, words, groups, groupindex, indexgroup = packed
    code = memoryview(words).cast("I" if _sre.CODESIZE == 4 else "H").tolist()
    return pattern, flags, code, groups, groupindex, indexgroup


class LazyPattern:
    """A pattern made from its cached compiler arguments on first use (``sub``, ``search``)."""

    __slots__ = ("_compiled", "_packed", "pattern")

    def __init__(self, packed: tuple[Any, ...]) -> None:
        self.pattern: str = packed[0]
        self._packed = packed
        self._compiled: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = _sre.compile(*_unpack(self._packed))
        return self._compiled

    def sub(self, repl: Callable[[re.Match[str]], str] | str, text: str) -> str:
        return self.compiled().sub(repl, text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled().search(text)


def compile_all(name: str, sources: tuple[str, ...]) -> list[LazyPattern]:
    """``sources`` as patterns, from the cache file ``name`` when it holds exactly these sources."""
    file_name = f"{name}.{sys.implementation.cache_tag}.marshal"
    key = _key()
    for directory in _cache_dirs():
        try:
            cached = marshal.loads(posix_fs.read_bytes(posix_fs.join(directory, file_name), 16 << 20))
            if cached[0] == key and tuple(a[0] for a in cached[1]) == sources:
                return [LazyPattern(packed) for packed in cached[1]]
        except (OSError, ValueError, EOFError, TypeError, IndexError, RuntimeError):
            pass
    from traceability.instrumentation.redaction.regex_compile import compile_and_store

    return [LazyPattern(packed) for packed in compile_and_store(file_name, key, sources)]
