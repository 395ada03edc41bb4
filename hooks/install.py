"""Merge our hook entries into (and out of) a Claude Code ``settings.json``.

``install`` keeps every hook the user has, replaces any earlier entry of ours (so re-running it is
idempotent and picks up a moved venv), backs the file up first, and writes it atomically;
``uninstall`` removes exactly our entries. Ours are recognised by their command: the fast entry
script (``.../hooks/fast_entry.py``) or the ``traceability hook`` console command.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import traceability.hooks
from traceability.hooks import telemetry_env

ENTRY_SCRIPT = "fast_entry.py"
TOOL_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest")
DEFAULT_EVENTS = (
    "SessionStart", "UserPromptSubmit", "UserPromptExpansion", "PreToolUse", "PermissionRequest",
    "PostToolUse", "PostToolUseFailure", "PostToolBatch", "Notification", "SubagentStart",
    "SubagentStop", "TaskCreated", "TaskCompleted", "PreCompact", "PostCompact", "Stop",
    "StopFailure", "SessionEnd",
)  # fmt: skip
DEFAULT_TIMEOUT_S = 10
PRE_TOOL_TIMEOUT_S = 30  # the quality enforcer's budget + RAG fit well inside


def entry_script() -> Path:
    return Path(traceability.hooks.__file__).resolve().parent / ENTRY_SCRIPT


def fast_command(python: str | None = None) -> str:
    """The venv's interpreter by absolute path (not resolved: a venv's ``python`` symlink is what
    makes it that venv), ``-I -S``, on the entry script."""
    interpreter = python or sys.executable
    return f"{shlex.quote(interpreter)} -I -S {shlex.quote(str(entry_script()))}"


def slow_command() -> str:
    """``traceability hook`` through the console script next to the interpreter, else on PATH."""
    script = Path(sys.executable).parent / "traceability"
    found = str(script) if script.exists() else (shutil.which("traceability") or "traceability")
    return f"{shlex.quote(found)} hook"


def is_ours(command: Any) -> bool:
    if not isinstance(command, str):
        return False
    text = command.strip()
    return (
        text.endswith(f"/hooks/{ENTRY_SCRIPT}")
        or text.endswith(f"/hooks/{ENTRY_SCRIPT}'")
        or (text.endswith(" hook") and shlex.split(text)[0].endswith("traceability"))
    )


def settings_path(scope: str, project_dir: str | None = None) -> Path:
    if scope == "project":
        return Path(project_dir or ".").resolve() / ".claude" / "settings.json"
    return Path(os.path.expanduser("~")) / ".claude" / "settings.json"


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        return {}
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return data


def _strip_ours(hooks: dict[str, Any]) -> int:
    """Remove our handlers from every event; drop groups and events left empty. Returns how many."""
    removed = 0
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept_groups = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                handlers = [
                    h for h in group["hooks"] if not (isinstance(h, dict) and is_ours(h.get("command")))
                ]
                removed += len(group["hooks"]) - len(handlers)
                if not handlers:
                    continue
                group = {**group, "hooks": handlers}
            kept_groups.append(group)
        if kept_groups:
            hooks[event] = kept_groups
        else:
            del hooks[event]
    return removed


@dataclass
class Change:
    path: Path
    changed: bool
    backup: Path | None
    added: int
    removed: int


def _write(path: Path, data: dict[str, Any], original: str | None) -> Path | None:
    backup = None
    if original is not None:
        backup = path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        backup.write_text(original, encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temp, path)
    return backup


def install(
    path: Path,
    command: str,
    events: tuple[str, ...] = DEFAULT_EVENTS,
    timeout_s: int = DEFAULT_TIMEOUT_S,
    pre_tool_timeout_s: int = PRE_TOOL_TIMEOUT_S,
    telemetry: dict[str, str] | None = None,
) -> Change:
    """``telemetry``: the env block to set too (``telemetry_env.telemetry_env``), or None to leave env alone."""
    original = path.read_text(encoding="utf-8") if path.exists() else None
    data = _load(path)
    env_changed, sidecar = False, None
    if telemetry is not None:
        env_changed, sidecar = telemetry_env.install_env(data, path, telemetry)
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        hooks = {}
    before = json.dumps(hooks, sort_keys=True)
    removed = _strip_ours(hooks)
    for event in events:
        handler = {
            "type": "command",
            "command": command,
            "timeout": pre_tool_timeout_s if event == "PreToolUse" else timeout_s,
        }
        group: dict[str, Any] = {"hooks": [handler]}
        if event in TOOL_EVENTS:
            group = {"matcher": "*", **group}
        existing = hooks.get(event)
        hooks[event] = [*(existing if isinstance(existing, list) else []), group]
    if json.dumps(hooks, sort_keys=True) == before and not env_changed:
        return Change(path, False, None, 0, 0)
    data["hooks"] = hooks
    backup = _write(path, data, original)
    if sidecar is not None:
        telemetry_env.save_sidecar(path, sidecar)
    warm()
    return Change(path, True, backup, len(events), removed)


def warm() -> None:
    """Fill the caches the first hook run would otherwise fill: the redaction patterns compiled
    (redaction/regex_cache.py) and the hook's modules in one file (hooks/startup.py)."""
    import subprocess

    from traceability.instrumentation.redaction import redact

    redact.warm()
    subprocess.run(  # the modules as the fast entry imports them: -I -S, the packages registered
        [sys.executable, "-I", "-S", str(entry_script()), "--warm"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )


def uninstall(path: Path) -> Change:
    if not path.exists():
        return Change(path, False, None, 0, 0)
    original = path.read_text(encoding="utf-8")
    data = _load(path)
    env_changed = telemetry_env.uninstall_env(data, path)
    hooks = data.get("hooks")
    removed = _strip_ours(hooks) if isinstance(hooks, dict) else 0
    if not removed and not env_changed:
        telemetry_env.save_sidecar(path, None)
        return Change(path, False, None, 0, 0)
    if isinstance(hooks, dict):
        if hooks:
            data["hooks"] = hooks
        else:
            del data["hooks"]
    backup = _write(path, data, original)
    telemetry_env.save_sidecar(path, None)
    return Change(path, True, backup, 0, removed)
