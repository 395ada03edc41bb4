"""Attribute values -> column values: clean text, JSON, numbers, booleans, ids and times.

What the span mapping (``mapping``) and the Claude Code telemetry mapping (``native_mapping``)
both read attributes with, so each kind of value is converted one way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncpg.pgproto.pgproto import UUID as PgUUID

from traceability.exporter.codec.records import AttrValue
from traceability.exporter.storage.limits import finite_or_none, index_safe_text

# Namespace for the uuid5 ids of hook_executions rows and of non-UUID session ids.
ROW_NAMESPACE = uuid.UUID("6f1d8c2e-3b7a-5e4f-9a10-7c2b4d6e8f01")
NIL_UUID = uuid.UUID(int=0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def clean_text(value: str) -> str:
    """Text PostgreSQL accepts: NUL becomes U+FFFD and lone surrogates become '?'."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def clean_json(value: Any) -> Any:
    """A JSON-able value with every string (keys too) cleaned for jsonb."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return None
    return value


def _jsonb_safe(text: str) -> bool:
    """True when JSON text has no NUL escape (jsonb rejects it) and no lone surrogate."""
    if "\\u0000" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# Reused (stateless) codecs: json.dumps/loads with non-default options build a new one per call,
# which costs more than the encoding itself on the ingest path.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_STRICT_DECODER = json.JSONDecoder(parse_constant=_not_json)  # NaN / Infinity are not JSON (RFC 8259)
# The C encoder ``_ENCODER.encode`` builds on each call, built once (its one-shot path, without the
# circular-reference check: the values are decoded telemetry, never cyclic). Half the cost of a call.
_C_ENCODE: Any = getattr(json.encoder, "c_make_encoder", None)
if _C_ENCODE is not None:
    _C_ENCODE = _C_ENCODE(
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )


def _encode(value: Any) -> str:
    return "".join(_C_ENCODE(value, 0)) if _C_ENCODE is not None else _ENCODER.encode(value)


# The (C) scanner ``decode`` runs, which JSONDecoder.__init__ sets and typeshed does not declare.
_scan_json: Callable[[str, int], tuple[Any, int]] = _STRICT_DECODER.scan_once  # type: ignore[attr-defined]


def strict_loads(text: str) -> Any:
    """``_STRICT_DECODER.decode(text)``, in one C call when the text has no surrounding whitespace.

    ``decode`` skips whitespace around the scan with two regular expressions and a Python frame,
    which cost more than scanning a JSON attribute; any other text goes through ``decode``.
    """
    try:
        parsed, end = _scan_json(text, 0)
    except StopIteration:  # leading whitespace, or no JSON value at all: decode decides
        return _STRICT_DECODER.decode(text)
    if end == len(text):
        return parsed
    return _STRICT_DECODER.decode(text)  # trailing whitespace, or extra data (raises)


def dumps(value: Any) -> str | None:
    """JSON text for a jsonb column (None stays NULL)."""
    if value is None:
        return None
    text = _encode(value)
    if _jsonb_safe(text) and "NaN" not in text and "Infinity" not in text:
        return text
    return _encode(clean_json(value))


def json_value(raw: AttrValue) -> str | None:
    """A JSON-valued attribute as jsonb text; text that is not JSON is stored as a JSON string.

    Valid, clean JSON text is passed through as sent (no re-encoding: this is the ingest hot path).
    """
    if raw is None:
        return None
    if isinstance(raw, str):
        try:  # NaN / Infinity are not JSON: such text is kept as a string, not nulled
            parsed = strict_loads(raw)
        except ValueError:
            return dumps(raw)
        if _jsonb_safe(raw):
            return raw
        return dumps(parsed)
    return dumps(raw)


def text_value(value: AttrValue) -> str | None:
    if value is None:
        return None
    return clean_text(value if isinstance(value, str) else str(value))


def indexed_text_value(value: AttrValue, key: str, whole: dict[str, AttrValue]) -> str | None:
    """A column value an index (or derivation's indexes) holds: see ``limits.index_safe_text``.

    When the value had to be shortened, the whole value goes into ``whole`` (the row's
    ``attributes`` jsonb) under its attribute name ``key``.
    """
    text = text_value(value)
    if text is None:
        return None
    safe = index_safe_text(text)
    if safe is not text:
        whole[key] = text
    return safe


def bool_value(value: AttrValue) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    if isinstance(value, int | float):
        return bool(value)
    return None


def float_value(value: AttrValue) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return finite_or_none(float(value))
    if not isinstance(value, str):  # an array
        return None
    try:
        return finite_or_none(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def int_value(value: AttrValue) -> int | None:
    number = float_value(value)
    if number is None or not -(2**31) <= number < 2**31:
        return None
    return int(number)


# The same rules, reading the value from an attribute mapping (one lookup per call).
def json_attr(attrs: Mapping[str, AttrValue], key: str) -> str | None:
    return json_value(attrs.get(key))


def text_attr(attrs: Mapping[str, AttrValue], key: str) -> str | None:
    return text_value(attrs.get(key))


def bool_attr(attrs: Mapping[str, AttrValue], key: str) -> bool | None:
    return bool_value(attrs.get(key))


def float_attr(attrs: Mapping[str, AttrValue], key: str) -> float | None:
    return float_value(attrs.get(key))


def parse_uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def session_uuid(raw: str | None) -> tuple[uuid.UUID, str | None]:
    """The session id as a UUID, and the raw text when it was not one (kept in session_key)."""
    if not raw:
        return NIL_UUID, None
    parsed = parse_uuid(raw)
    if parsed is not None:
        return parsed, None
    return uuid.uuid5(ROW_NAMESPACE, raw), raw


@functools.lru_cache(maxsize=8192)
def trace_uuid(trace_id_hex: str) -> uuid.UUID:
    """The trace id as a UUID (cached: a batch holds many spans of few traces)."""
    return uuid.UUID(hex=trace_id_hex)


_ROW_NAMESPACE_BYTES = ROW_NAMESPACE.bytes
# uuid5: the version (5) and the RFC 4122 variant bits over the first 16 bytes of the SHA-1 digest
_UUID5_CLEAR = ~(0xF000 << 64) & ~(0xC000 << 48)
_UUID5_SET = (0x5000 << 64) | (0x8000 << 48)


def row_uuid(name: str) -> uuid.UUID:
    """``uuid5(ROW_NAMESPACE, name)``, without rebuilding the namespace's bytes on every call.

    As asyncpg's own UUID (a ``uuid.UUID``, equal to and hashed as the stdlib one, what asyncpg
    returns for uuid columns): a fraction of the stdlib constructor's cost, on the ingest hot path.
    """
    digest = hashlib.sha1(_ROW_NAMESPACE_BYTES + name.encode()).digest()
    value: uuid.UUID = PgUUID((int.from_bytes(digest[:16]) & _UUID5_CLEAR | _UUID5_SET).to_bytes(16))
    return value


def hook_row_id(trace_id_hex: str, span_id_hex: str) -> uuid.UUID:
    return row_uuid(trace_id_hex + span_id_hex)


def to_datetime(unix_nano: int) -> datetime:
    return _EPOCH + timedelta(0, 0, unix_nano // 1000)  # positional: half the cost of microseconds=


def resource_json(resource: Mapping[str, AttrValue]) -> str | None:
    """The resource attributes as JSON text."""
    return dumps({k: list(v) if isinstance(v, tuple) else v for k, v in resource.items()})
