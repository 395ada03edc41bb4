"""The hook's settings: environment variable, else ~/.claude/hooks/config.yaml, else default; a bad
value never stops a hook run: it is written to the hook's log and the default used."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.hooks import HookEnv, load_sequence, read_spool
from traceability.hooks.settings import HookSettings
from traceability.instrumentation import env

SEQUENCE = "v2.1.270_s01_S01_startup_tools.jsonl"


def test_env_beats_config_file_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (env.HOOK_DEADLINE_MS_ENV, env.SERVICE_NAME_ENV, env.ENFORCEMENT_ENABLED_ENV):
        monkeypatch.delenv(name, raising=False)
    default = HookSettings({})
    assert (default.deadline_s, default.service_name, default.enforcement_enabled) == (
        5.0,
        "claude-code-hooks",
        False,
    )
    config = {
        "traceability": {"deadline_ms": 2500, "service_name": "from-file"},
        "enforcement": {"enabled": True},
    }
    from_file = HookSettings(config)
    assert (from_file.deadline_s, from_file.service_name, from_file.enforcement_enabled) == (
        2.5,
        "from-file",
        True,
    )
    monkeypatch.setenv(env.HOOK_DEADLINE_MS_ENV, "750")
    monkeypatch.setenv(env.SERVICE_NAME_ENV, "from-env")
    monkeypatch.setenv(env.ENFORCEMENT_ENABLED_ENV, "no")
    from_env = HookSettings(config)
    assert (from_env.deadline_s, from_env.service_name, from_env.enforcement_enabled) == (
        0.75,
        "from-env",
        False,
    )
    assert from_env.warnings == []


@pytest.mark.parametrize("text", ["soon", "0", "600001", "nan"])
def test_bad_deadline_falls_back_to_the_config_file_value(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(env.HOOK_DEADLINE_MS_ENV, text)
    settings = HookSettings({"traceability": {"deadline_ms": 2500}})
    assert settings.deadline_s == 2.5
    assert settings.warnings == [
        f"{env.HOOK_DEADLINE_MS_ENV}={text!r} is not a number from 1.0 to 600000.0; using the default 2500.0"
    ]


def test_a_hook_process_with_bad_values_runs_and_logs_them(tmp_path: Path) -> None:
    """A real hook process: bad values are logged to quality_enforcer.log (not stderr), exit 0,
    the spans are written with the defaults (the clock is the real one)."""
    hook = HookEnv(
        tmp_path,
        extra={env.HOOK_DEADLINE_MS_ENV: "5s", env.FSYNC_ENV: "sometimes", env.HOOK_NOW_NS_ENV: "yesterday"},
    )
    event = load_sequence(SEQUENCE)[0]
    result = hook.run(event)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert [s.name for s in read_spool(hook.spool)]  # spans were written
    log = (hook.logs / "quality_enforcer.log").read_text()
    for line in (
        f"{env.HOOK_NOW_NS_ENV}='yesterday' is not an integer >= 0; using the default 0",
        f"{env.FSYNC_ENV}='sometimes' is not a boolean (true/false, 1/0, yes/no, on/off); using the default False",
        f"{env.HOOK_DEADLINE_MS_ENV}='5s' is not a number from 1.0 to 600000.0; using the default 5000.0",
    ):
        assert f"WARNING traceability-hook: {line}\n" in log
    assert "ERROR" not in log
