"""`traceability hooks install/uninstall` on real settings files; both installed forms actually run."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import USER_SETTINGS, cli
from tests.support.hooks import HookEnv
from traceability.hooks import install as inst
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.redaction import redact, regex_cache


def test_install_keeps_user_hooks_backs_up_and_is_idempotent(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    original = json.dumps(USER_SETTINGS, indent=4)
    settings.write_text(original)

    first = cli("install", "--user", home=home)
    assert first.returncode == 0, first.stderr
    data: dict[str, Any] = json.loads(settings.read_text())
    assert data["permissions"] == USER_SETTINGS["permissions"]
    assert data["hooks"]["PreToolUse"][0] == USER_SETTINGS["hooks"]["PreToolUse"][0]
    assert data["hooks"]["Stop"][0] == USER_SETTINGS["hooks"]["Stop"][0]
    ours = {
        event: [h for g in groups for h in g["hooks"] if inst.is_ours(h["command"])]
        for event, groups in data["hooks"].items()
    }
    assert {e for e, handlers in ours.items() if handlers} == set(inst.DEFAULT_EVENTS)
    assert all(len(handlers) == 1 for e, handlers in ours.items() if e in inst.DEFAULT_EVENTS)
    assert ours["PreToolUse"][0]["timeout"] == 30 and ours["Stop"][0]["timeout"] == 10
    command = ours["Stop"][0]["command"]
    assert command == f"{sys.executable} -I -S {inst.entry_script()}"
    backups = list(settings.parent.glob("settings.json.bak-*"))
    assert [b.read_text() for b in backups] == [original]

    second = cli("install", "--user", home=home)
    assert second.returncode == 0 and "nothing changed" in second.stdout
    assert json.loads(settings.read_text()) == data
    assert len(list(settings.parent.glob("settings.json.bak-*"))) == 1

    # re-installing with another interpreter replaces our entries instead of adding more
    change = inst.install(settings, inst.fast_command("/opt/other/python"))
    assert change.changed and change.removed == len(inst.DEFAULT_EVENTS)
    data = json.loads(settings.read_text())
    commands = [h["command"] for groups in data["hooks"].values() for g in groups for h in g["hooks"]]
    assert sum(inst.is_ours(c) for c in commands) == len(inst.DEFAULT_EVENTS)

    removed = cli("uninstall", "--user", home=home)
    assert removed.returncode == 0, removed.stderr
    assert json.loads(settings.read_text()) == USER_SETTINGS
    assert "nothing changed" in cli("uninstall", "--user", home=home).stdout


def test_install_fills_the_redaction_cache_beside_its_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So the first hook run finds the redaction patterns compiled (and never imports ``re``)."""
    beside = Path(regex_cache.__file__).parent / "__pycache__"
    assert regex_cache._cache_dirs()[0] == str(beside)
    package_cache, state_cache = tmp_path / "pycache", tmp_path / "state"
    monkeypatch.setattr(regex_cache, "_cache_dirs", lambda: (str(package_cache), str(state_cache)))
    monkeypatch.setattr(redact, "_compiled", None)  # as in a fresh process
    inst.install(tmp_path / "settings.json", inst.fast_command())
    assert [p.name.split(".")[0] for p in package_cache.iterdir()] == ["redact-rules"]
    assert not state_cache.exists()


def test_project_install_creates_the_file_and_uninstall_leaves_no_hooks_key(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    result = cli(
        "install", "--project", str(project), "--events", "Stop,PreToolUse", "--timeout", "15", home=tmp_path
    )
    assert result.returncode == 0, result.stderr
    settings = project / ".claude" / "settings.json"
    data = json.loads(settings.read_text())
    assert set(data["hooks"]) == {"Stop", "PreToolUse"}
    assert data["hooks"]["PreToolUse"][0]["matcher"] == "*"
    assert data["hooks"]["Stop"][0]["hooks"][0]["timeout"] == 15
    assert cli("uninstall", "--project", str(project), home=tmp_path).returncode == 0
    assert json.loads(settings.read_text()) == {}


def _run_command(
    command: str, hook: HookEnv, event: Mapping[str, object]
) -> subprocess.CompletedProcess[bytes]:
    """Run an installed command the way Claude Code does: through a shell, from another directory."""
    return subprocess.run(
        ["/bin/sh", "-c", command], input=json.dumps(event).encode(), capture_output=True,
        env=hook.env(), cwd="/", timeout=60, check=False,
    )  # fmt: skip


def test_both_installed_forms_record_the_event(tmp_path: Path) -> None:
    event = {"session_id": "inst", "hook_event_name": "Notification", "message": "hi"}
    for name, command in (("fast", inst.fast_command()), ("slow", inst.slow_command())):
        hook = HookEnv(tmp_path / name)
        result = _run_command(command, hook, event)
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b""), name
        (span,) = hook.spans()
        assert span.attributes[sc.HOOK_TYPE] == "Notification", name
