"""A serialized OTLP ``KeyValue`` -> ``(key, attribute value)`` (and an ``AnyValue`` -> its value),
remembered for short ones.

Reading attributes through protobuf message objects costs about 0.4 us an attribute (a Python
object for the KeyValue, another for its AnyValue, then the string). Claude Code repeats most of
its attributes verbatim in every event (user, session, terminal, event name, model, decision), so
the decoders that can see an attribute's bytes (``wire_logs``) decode each distinct KeyValue once:

- the usual shapes (a string, int, double or bool value, fields in canonical order) are read
  straight from the bytes;
- anything else (arrays, kvlists, bytes values, unusual encodings) is parsed by protobuf itself
  and converted as every other decoder converts it (``common.any_value``);
- invalid UTF-8 or a truncated KeyValue raises ``InvalidRecord``, as protobuf would refuse it.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable

from google.protobuf.message import DecodeError
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from traceability.exporter.codec.common import InvalidRecord, any_value
from traceability.exporter.codec.records import AttrValue

Attribute = tuple[str, AttrValue]

_CACHED_BYTES = 256  # longer KeyValues are rarely repeated: decoded every time, never kept
_CACHE_ENTRIES = 65_536  # the cache is emptied when it holds this many (unique ids fill it)
_cache: dict[bytes, Attribute] = {}

# Wire tags (field number << 3 | wire type) of KeyValue and AnyValue.
_KEY, _VALUE = 0x0A, 0x12
_STRING, _BOOL, _INT, _DOUBLE = 0x0A, 0x10, 0x18, 0x21
_INT64_SIGN, _UINT64 = 1 << 63, 1 << 64
_double = struct.Struct("<d").unpack_from


def _varint(raw: bytes, at: int) -> tuple[int, int]:
    """The varint at ``at`` and the position after it (IndexError when it runs past the end)."""
    value = shift = 0
    while True:
        byte = raw[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _scalar(raw: bytes, at: int, end: int) -> tuple[AttrValue] | None:
    """The AnyValue in ``raw[at:end]`` when it is one string, int, double or bool (in a 1-tuple);
    None when it is anything else. Raises IndexError (truncated) or UnicodeDecodeError."""
    if at == end:
        return (None,)  # an AnyValue with nothing set
    tag = raw[at]
    if tag == _STRING:
        size, at = _varint(raw, at + 1)
        return (raw[at:end].decode(),) if at + size == end else None
    if tag in (_INT, _BOOL):
        number, at = _varint(raw, at + 1)
        if at != end or number >= _UINT64:
            return None
        if tag == _BOOL:
            return (number != 0,)
        return (number - _UINT64 if number >= _INT64_SIGN else number,)
    if tag == _DOUBLE and end - at == 9:
        return (_double(raw, at + 1)[0],)
    return None


def _canonical(raw: bytes) -> Attribute | None:
    """The attribute when ``raw`` is a key then a scalar value, each exactly once; else None."""
    end = len(raw)
    if raw[0] != _KEY:
        return None
    size = raw[1]
    if size < 0x80:  # a key under 128 bytes: its length is one byte
        at = 2
    else:
        size, at = _varint(raw, 1)
    key = raw[at : at + size].decode()
    at += size
    if at == end:
        return key, None  # no value: what protobuf gives for an unset AnyValue
    if at > end or raw[at] != _VALUE:
        return None
    size, at = _varint(raw, at + 1)
    if at + size != end:
        return None
    value = _scalar(raw, at, end)
    return None if value is None else (key, value[0])


def _parsed(raw: bytes) -> Attribute:
    """The attribute as protobuf parses it (every shape; refusals as InvalidRecord)."""
    try:
        kv = KeyValue.FromString(raw)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise InvalidRecord(f"attribute is not a valid KeyValue: {exc}") from None
    text = kv.value.string_value
    return kv.key, text if text else any_value(kv.value)


def decode_attribute(raw: bytes) -> Attribute:
    """``(key, value)`` of one serialized KeyValue, as ``common.attributes`` gives it."""
    hit = _cache.get(raw)
    if hit is not None:
        return hit
    try:
        attribute = _canonical(raw) if raw else None
    except (IndexError, UnicodeDecodeError):
        attribute = None  # protobuf says what is wrong with it
    if attribute is None:
        attribute = _parsed(raw)
    if len(raw) <= _CACHED_BYTES:
        if len(_cache) >= _CACHE_ENTRIES:
            _cache.clear()
        _cache[raw] = attribute
    return attribute


def decode_attributes(raws: Iterable[bytes]) -> dict[str, AttrValue]:
    """Serialized KeyValues -> a dict of attribute values (a later duplicate key wins, as in
    ``common.attributes``)."""
    get = _cache.get
    return dict([get(raw) or decode_attribute(raw) for raw in raws])


def decode_any_value(raw: bytes) -> AttrValue:
    """A serialized AnyValue as an attribute value (a log record's body); refusals as InvalidRecord."""
    return _short_any_value(raw) if len(raw) <= _CACHED_BYTES else _any_value(raw)


@functools.lru_cache(maxsize=1024)
def _short_any_value(raw: bytes) -> AttrValue:
    """Claude Code's bodies are its few event names: each is decoded once."""
    return _any_value(raw)


def _any_value(raw: bytes) -> AttrValue:
    try:
        value = _scalar(raw, 0, len(raw))
    except (IndexError, UnicodeDecodeError):
        value = None
    if value is not None:
        return value[0]
    try:
        return any_value(AnyValue.FromString(raw))
    except (DecodeError, RecursionError, ValueError) as exc:
        raise InvalidRecord(f"body is not a valid AnyValue: {exc}") from None
