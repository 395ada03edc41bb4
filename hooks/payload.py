"""What of a hook payload goes into span attributes: redacted, size-capped, content-gated.

Conversation text (prompts, assistant messages, compaction summaries) is kept only when prompt
capture is on; everything else is kept with long strings cut and secrets redacted, keys included.

Caps, so that a hook's time does not grow with the payload (README, "Large payloads"): a string
is cut to its limit *before* it is redacted, scanning ``redact.CUT_MARGIN`` characters past the cut
so that a secret straddling it still matches whole (the margin itself is then dropped, so no
unscanned tail is ever kept); a dict keeps at most ``MAX_ITEMS`` keys and a list ``MAX_ITEMS`` items;
one ``clean`` call scans at most ``SCAN_BUDGET`` characters in all, then elides the remaining strings.
"""

from __future__ import annotations

from traceability.instrumentation import otlp_json, posix_fs
from traceability.instrumentation.redaction.redact import (
    CUT_MARGIN,
    REDACTED,
    is_secret_name,
    redact,
    redact_cut,
    redact_key,
)
from traceability.instrumentation.semconv import language_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Fields every event carries; they become their own attributes (or metadata), not input data.
COMMON_FIELDS = frozenset(
    {"session_id", "transcript_path", "cwd", "hook_event_name", "prompt_id", "permission_mode", "effort",
     "scratchpad_dir", "agent_id", "agent_type", "agent_transcript_path"}
)  # fmt: skip
# Conversation content: recorded only with capture_prompts (as Claude Code's OTEL_LOG_USER_PROMPTS).
CONVERSATION_FIELDS = frozenset(
    {"prompt", "last_assistant_message", "compact_summary", "delta", "custom_instructions", "command_args"}
)
MAX_ITEMS = 200
SCAN_BUDGET = 512 * 1024


class _Budget:
    """Characters one ``clean`` call may still scan."""

    def __init__(self, chars: int) -> None:
        self.chars = chars

    def text(self, value: str, max_chars: int) -> str:
        if self.chars <= 0:
            return f"…[not scanned: {len(value)} chars]"
        self.chars -= min(len(value), max_chars + CUT_MARGIN)
        return redact_cut(value, max_chars)

    def key(self, key: str) -> str:
        if self.chars <= 0:
            return f"…[key not scanned: {len(key)} chars]"
        self.chars -= min(len(key), 512 + CUT_MARGIN)
        return redact_key(key if len(key) <= 512 else redact_cut(key, 512))


def clean(value: Any, max_chars: int, depth: int = 0, budget: _Budget | None = None) -> Any:
    """A JSON-able copy with every string and key redacted and cut to ``max_chars``; the value of a
    secret-named key replaced whole; deep nesting, long lists and big dicts elided."""
    budget = budget or _Budget(SCAN_BUDGET)
    if isinstance(value, str):
        return budget.text(value, max_chars)
    if isinstance(value, dict):
        if depth > 12:
            return "…[nested too deep]"
        out: dict[str, Any] = {}
        for index, (key, item) in enumerate(value.items()):
            if index == MAX_ITEMS:
                out["…"] = f"[{len(value) - MAX_ITEMS} more keys]"
                break
            name = budget.key(str(key))
            if name in out:
                name = f"{name}#{index}"
            if isinstance(item, str) and item and is_secret_name(str(key)[:128]):
                out[name] = REDACTED
            else:
                out[name] = clean(item, max_chars, depth + 1, budget)
        return out
    if isinstance(value, list | tuple):
        if depth > 12:
            return "…[nested too deep]"
        items = [clean(v, max_chars, depth + 1, budget) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"…[{len(value) - MAX_ITEMS} more items]")
        return items
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    return value


def json_attr(value: Any, max_chars: int, max_json: int) -> str:
    """``value`` cleaned and as JSON text, no longer than about ``max_json`` characters."""
    text = otlp_json.dumps(clean(value, max_chars))
    while len(text) > max_json and max_chars > 64:
        max_chars //= 4
        text = otlp_json.dumps(clean(value, max_chars))
    if len(text) > max_json:
        text = otlp_json.dumps({"truncated": True, "preview": text[:max_json]})
    return text


def event_input(event: dict[str, Any], capture_prompts: bool) -> dict[str, Any]:
    """The event-specific fields of a payload (tool input/response excluded: they go on the tool span)."""
    out: dict[str, Any] = {}
    for key, value in event.items():
        if key in COMMON_FIELDS or key in ("tool_name", "tool_use_id", "tool_input", "tool_response"):
            continue
        if key in CONVERSATION_FIELDS and not capture_prompts:
            if isinstance(value, str):
                out[key] = f"[not captured: {len(value)} chars]"
            continue
        out[key] = value
    return out


def text_of(value: Any) -> str:
    """A tool response (string, or content blocks [{type: text, text}]) as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [b.get("text", "") for b in value if isinstance(b, dict) and isinstance(b.get("text"), str)]
        if parts:
            return "\n".join(parts)
    if isinstance(value, dict):
        for key in ("error", "message", "stderr"):
            if isinstance(value.get(key), str) and value[key]:
                return str(value[key])
    return "" if value is None else otlp_json.dumps(value)


def file_path_of(tool_input: Any) -> str:
    if not isinstance(tool_input, dict):
        return ""
    for key in ("file_path", "notebook_path", "path"):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _read_text(path: str, limit: int) -> str | None:
    try:
        return posix_fs.read_bytes(path, limit).decode("utf-8", "replace")
    except (OSError, ValueError):
        return None


def _apply_edits(text: str, edits: list[Any]) -> str:
    for edit in edits:
        if not isinstance(edit, dict):
            continue
        old, new = edit.get("old_string"), edit.get("new_string")
        if isinstance(old, str) and isinstance(new, str) and old:
            text = text.replace(old, new) if edit.get("replace_all") else text.replace(old, new, 1)
    return text


def resulting_code(
    tool_name: str, tool_input: Any, tool_response: Any, applied: bool, limit: int
) -> str | None:
    """The code a Write/Edit/MultiEdit/NotebookEdit produced (``applied``) or tried to produce.

    Write: its ``content``. NotebookEdit: the cell's ``new_source`` (the notebook file is JSON, not
    code). Edit/MultiEdit: the file read back when applied; otherwise (failed, denied, or the file
    unreadable) the edits applied to the current file or to ``originalFile`` from the response.
    """
    if not isinstance(tool_input, dict):
        return None
    if tool_name in ("Write", "NotebookEdit"):
        content = tool_input.get("content" if tool_name == "Write" else "new_source")
        return content if isinstance(content, str) else None
    path = file_path_of(tool_input)
    if tool_name == "Edit":
        edits: list[Any] = [tool_input]
    elif tool_name == "MultiEdit":
        raw_edits = tool_input.get("edits")
        edits = raw_edits if isinstance(raw_edits, list) else []
    else:
        return None
    read_limit = max(limit * 4, 1 << 20)
    if applied and path:
        text = _read_text(path, read_limit)
        if text is not None:
            return text
    base = _read_text(path, read_limit) if path else None
    if base is None and isinstance(tool_response, dict):
        original = tool_response.get("originalFile", tool_response.get("originalFileContents"))
        base = original if isinstance(original, str) else None
    if base is not None:
        return _apply_edits(base, edits)
    fragments = [
        e.get("new_string") for e in edits if isinstance(e, dict) and isinstance(e.get("new_string"), str)
    ]
    return "\n".join(f for f in fragments if isinstance(f, str)) or None


def code_attributes(code: str, path: str, limit: int) -> dict[str, Any]:
    """``traceability.code.*`` attributes: redacted content cut at ``limit`` UTF-8 bytes, language, size."""
    from traceability.instrumentation import semconv as sc

    raw = code.encode("utf-8", "replace")
    attrs: dict[str, Any] = {sc.CODE_LANGUAGE: language_of(path), sc.CODE_ORIGINAL_SIZE: len(raw)}
    # cut first (a character is at least one byte: ``limit`` characters hold ``limit`` bytes), with a
    # margin so that a secret across the cut is matched whole before the margin is dropped
    clean_code = redact(code[: limit + CUT_MARGIN]) if len(code) > limit else redact(code)
    encoded = clean_code.encode("utf-8", "replace")
    if len(encoded) > limit or len(code) > limit + CUT_MARGIN:
        clean_code = encoded[:limit].decode("utf-8", "ignore")
        attrs[sc.CODE_TRUNCATED] = True
    else:
        attrs[sc.CODE_TRUNCATED] = False
    attrs[sc.CODE_CONTENT] = clean_code
    return attrs
