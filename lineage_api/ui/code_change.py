"""The code change a Write/Edit/MultiEdit/NotebookEdit tool use made, as diff hunks for display.

The tool input is what Claude Code sent (redacted by the hook before it was stored). An Edit and
each edit of a MultiEdit diff ``old_string`` against ``new_string``; a Write diffs the previous
recorded content of the same file (when there is one) against the new content.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

MAX_DIFF_LINES = 2000  # a diff longer than this is cut, and says so


@dataclass(frozen=True)
class DiffLine:
    kind: str  # add | del | ctx | hunk
    text: str


@dataclass(frozen=True)
class CodeChange:
    title: str
    lines: tuple[DiffLine, ...]
    truncated: bool


def _diff(old: str, new: str, title: str) -> CodeChange:
    lines: list[DiffLine] = []
    truncated = False
    raw = difflib.unified_diff(old.splitlines(), new.splitlines(), "old", "new", n=3, lineterm="")
    for index, line in enumerate(raw):
        if index < 2:  # the ---/+++ header: the title says which file
            continue
        if len(lines) >= MAX_DIFF_LINES:
            truncated = True
            break
        if line.startswith("@@"):
            lines.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            lines.append(DiffLine("add", line[1:]))
        elif line.startswith("-"):
            lines.append(DiffLine("del", line[1:]))
        else:
            lines.append(DiffLine("ctx", line[1:]))
    return CodeChange(title, tuple(lines), truncated)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def code_changes(tool_name: str | None, tool_input: Any, previous: str | None) -> list[CodeChange]:
    """The changes of one tool use; empty for tools that write no code or an input without code."""
    if not isinstance(tool_input, dict):
        return []
    path = _text(tool_input.get("file_path")) or _text(tool_input.get("notebook_path"))
    if tool_name == "Edit":
        return [_diff(_text(tool_input.get("old_string")), _text(tool_input.get("new_string")), path)]
    if tool_name == "MultiEdit":
        edits = tool_input.get("edits")
        if not isinstance(edits, list):
            return []
        return [
            _diff(
                _text(e.get("old_string")),
                _text(e.get("new_string")),
                f"{path} (edit {i + 1} of {len(edits)})",
            )
            for i, e in enumerate(edits)
            if isinstance(e, dict)
        ]
    if tool_name == "Write":
        title = path if previous is not None else f"{path} (new file)"
        return [_diff(previous or "", _text(tool_input.get("content")), title)]
    if tool_name == "NotebookEdit":
        return [_diff("", _text(tool_input.get("new_source")), f"{path} (cell)")]
    return []
