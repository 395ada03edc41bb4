"""Typed reads of a loaded session state: every field checked once, here, against hooks/state_types.py.

The code that uses the state then reads ``tool["span"]`` as the int it is. A file that does not
have the shape (edited by hand, or written by a hook this one does not understand) is corrupt: it is
reset, and the caller logs why. Only a missing ``order`` is tolerated (0), as states have always
been read.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from traceability.hooks.state_types import HookState

SESSION_INTS = ("trace", "start", "order")
TURN_INTS = ("trace", "start", "order")
TOOL_INTS = ("trace", "span", "parent", "start", "order")
AGENT_INTS = ("trace", "span", "parent", "start", "order")
TOOL_TEXTS = ("name", "prompt_id")
AGENT_TEXTS = ("type", "tool", "prompt_id")
OPTIONAL_INTS = ("resumes", "last", "tool_uses", "prompt_length")


class CorruptState(ValueError):
    """The state file's content does not have the state's shape."""


def _entry(raw: Any, where: str, ints: tuple[str, ...], texts: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CorruptState(f"{where} is a {type(raw).__name__}, not an object")
    raw.setdefault("order", 0)
    for key in ints:
        value = raw.get(key)
        if type(value) is not int:
            raise CorruptState(f"{where}.{key} is {value!r}, not an integer")
    for key in OPTIONAL_INTS:
        value = raw.get(key)
        if value is not None and type(value) is not int:
            raise CorruptState(f"{where}.{key} is {value!r}, not an integer")
    for key in texts:
        value = raw.setdefault(key, "")
        if not isinstance(value, str):
            raise CorruptState(f"{where}.{key} is {value!r}, not a string")
    return raw


def _table(raw: Any, where: str, ints: tuple[str, ...], texts: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CorruptState(f"{where} is a {type(raw).__name__}, not an object")
    for key, entry in raw.items():
        _entry(entry, f"{where}[{key!r}]", ints, texts)
    return raw


def typed_state(data: dict[str, Any]) -> HookState:
    """``data`` (a parsed state file of the current version) checked in place; raises ``CorruptState``."""
    if not isinstance(data.get("session_id"), str):
        raise CorruptState("session_id is not a string")
    if data.get("session") is not None:
        _entry(data["session"], "session", SESSION_INTS)
    turn = data.get("turn")
    if turn is not None:
        _entry(turn, "turn", TURN_INTS, ("prompt_id",))
    data["tools"] = _table(data.get("tools", {}), "tools", TOOL_INTS, TOOL_TEXTS)
    data["agents"] = _table(data.get("agents", {}), "agents", AGENT_INTS, AGENT_TEXTS)
    data.setdefault("session", None)
    data.setdefault("turn", None)
    return data  # checked above, field by field
