"""Rules that keep one hostile span from stopping ingest: long indexed values, non-finite numbers,
and a per-span stored-size cap. Every table the ingest path writes applies the same rules.

PostgreSQL rejects a btree index entry over ~2.7 KB (a third of a page) with a
``program_limit_exceeded`` error that fails the whole statement, so a single 3,000-character
session id would fail its whole batch. :func:`index_safe_text` is the one rule for every text
column that an index holds or that derivation copies into an indexed column: a value over
:data:`INDEXED_TEXT_MAX_BYTES` (UTF-8) is shortened to a prefix, a digest of the whole value (so
distinct long values stay distinct) and the value's last characters (so a file path keeps its
extension); the whole value is kept in the row's ``attributes`` jsonb, which no btree indexes.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from traceability.instrumentation.env import MAX_SPAN_STORED_BYTES_ENV, env_int

# Well under the btree limit (2704 bytes for a whole index entry), so that two capped values fit
# in one multi-column entry (pattern_locations' key is (file_path, qualified_name)).
INDEXED_TEXT_MAX_BYTES = 1024
_TAIL_CHARS = 32
_MARK = "\u2026"  # "…" around the digest: the value was shortened here

DEFAULT_MAX_SPAN_STORED_BYTES = 16 * 1024 * 1024


def index_safe_text(value: str) -> str:
    """``value`` itself when an index can hold it, else prefix + digest + tail under the limit.

    Idempotent and deterministic: the same long value always maps to the same short one, so
    equality lookups and idempotent replays still work on the shortened form.
    """
    if len(value) * 4 <= INDEXED_TEXT_MAX_BYTES:  # fast path: cannot be over in UTF-8
        return value
    encoded = value.encode("utf-8", "surrogatepass")
    if len(encoded) <= INDEXED_TEXT_MAX_BYTES:
        return value
    digest = hashlib.sha256(encoded).hexdigest()[:32]
    tail = value[-_TAIL_CHARS:]
    middle = f"{_MARK}sha256:{digest}{_MARK}"
    room = INDEXED_TEXT_MAX_BYTES - len(middle.encode()) - len(tail.encode("utf-8", "surrogatepass"))
    head = encoded[:room].decode("utf-8", "ignore")  # "ignore" drops a multi-byte char cut in two
    return head + middle + tail


def finite_or_none(value: float | None) -> float | None:
    """A double column's value: NaN and +-Infinity are stored as absent (never averaged)."""
    if value is None or math.isfinite(value):
        return value
    return None


def resolve_max_span_stored_bytes(value: int | None = None) -> int:
    """Setting: argument, else ``$TRACEABILITY_MAX_SPAN_STORED_BYTES``, else 16 MiB.

    A bad environment value is logged and the default used.
    """
    if value is not None and value > 0:
        return value
    return env_int(MAX_SPAN_STORED_BYTES_ENV, DEFAULT_MAX_SPAN_STORED_BYTES, minimum=1)


_is_str = str.__instancecheck__


def stored_bytes(values: tuple[Any, ...], limit: int, *, text_arrays: bool = True) -> int:
    """The UTF-8 size of a row's text and JSON values, exact when it matters for ``limit``.

    Counting characters first keeps this cheap on the ingest path: UTF-8 takes at most 4 bytes
    per character, so rows under a quarter of the limit are never encoded. ``text_arrays=False``
    says the row has no text[] column (lists are not looked for: one pass less per row).
    """
    chars = sum(map(len, filter(_is_str, values)))  # no Python-level loop: one row per ingested span
    if text_arrays and list in map(type, values):  # text[] (tags)
        chars += sum(len(x) for v in values if isinstance(v, list) for x in v if isinstance(x, str))
    if chars * 4 <= limit or chars > limit:
        return chars
    total = 0
    for v in values:
        if isinstance(v, str):
            total += len(v.encode("utf-8", "surrogatepass"))
        elif isinstance(v, list):
            total += sum(len(x.encode("utf-8", "surrogatepass")) for x in v if isinstance(x, str))
    return total
