"""The one true/false rule, for a hook variable and for each service's variable alike: true/false,
1/0, yes/no, on/off in any case with surrounding whitespace; anything else is logged (the variable
and the default used) and the default applies; blank counts as unset."""

from __future__ import annotations

import logging

import pytest

from traceability.collector.settings import CollectorSettings
from traceability.hooks.settings import HookSettings
from traceability.instrumentation.env import CAPTURE_PROMPTS_ENV, DERIVER_ENV, FSYNC_ENV
from traceability.lineage_api.settings import Settings

# written out here, not taken from env.py, so a change of the rule there fails these tests
WORDS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}
ACCEPTED = [
    (spelling, value)
    for word, value in WORDS.items()
    for spelling in (word, word.upper(), word.title(), f"  {word}\t", f"\n{word.upper()} ")
]
REJECTED = ["t", "f", "y", "n", "2", "-1", "01", "enabled", "disable", "true!", "oui", "yes please", "o n"]
BLANK = ["", "   ", "\t\n"]


def _hook(default_in_file: bool) -> HookSettings:
    """HookSettings whose config file sets fsync to ``default_in_file`` (the value a bad env value
    falls back to)."""
    return HookSettings({"traceability": {"fsync": default_in_file}})


def _collector() -> CollectorSettings:
    return CollectorSettings(db_url="postgresql://settings.test/db")


def _api() -> Settings:
    return Settings(db_url="postgresql://settings.test/db")


@pytest.mark.parametrize(("spelling", "value"), ACCEPTED)
def test_accepted_spellings_hook(monkeypatch: pytest.MonkeyPatch, spelling: str, value: bool) -> None:
    monkeypatch.setenv(FSYNC_ENV, spelling)
    settings = _hook(default_in_file=not value)
    assert settings.fsync is value
    assert settings.warnings == []


@pytest.mark.parametrize(("spelling", "value"), ACCEPTED)
def test_accepted_spellings_services(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, spelling: str, value: bool
) -> None:
    monkeypatch.setenv(CAPTURE_PROMPTS_ENV, spelling)
    monkeypatch.setenv(DERIVER_ENV, spelling)
    with caplog.at_level(logging.WARNING):
        assert _collector().capture_prompts is value
        assert _api().run_deriver is value
    assert caplog.records == []


@pytest.mark.parametrize("spelling", REJECTED)
def test_rejected_spellings_hook(monkeypatch: pytest.MonkeyPatch, spelling: str) -> None:
    monkeypatch.setenv(FSYNC_ENV, spelling)
    for default in (True, False):
        settings = _hook(default_in_file=default)
        assert settings.fsync is default
        assert settings.warnings == [
            f"{FSYNC_ENV}={spelling!r} is not a boolean (true/false, 1/0, yes/no, on/off); "
            f"using the default {default!r}"
        ]


@pytest.mark.parametrize("spelling", REJECTED)
def test_rejected_spellings_services(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, spelling: str
) -> None:
    monkeypatch.setenv(CAPTURE_PROMPTS_ENV, spelling)
    monkeypatch.setenv(DERIVER_ENV, spelling)
    with caplog.at_level(logging.WARNING):
        assert _collector().capture_prompts is False
        assert _api().run_deriver is True
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 2
    assert messages[0].startswith(f"{CAPTURE_PROMPTS_ENV}={spelling!r} is not valid (")
    assert messages[0].endswith("; using the default False")
    assert messages[1].startswith(f"{DERIVER_ENV}={spelling!r} is not valid (")
    assert messages[1].endswith("; using the default True")


@pytest.mark.parametrize("spelling", BLANK)
def test_blank_is_unset(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, spelling: str
) -> None:
    monkeypatch.setenv(FSYNC_ENV, spelling)
    monkeypatch.setenv(CAPTURE_PROMPTS_ENV, spelling)
    monkeypatch.setenv(DERIVER_ENV, spelling)
    with caplog.at_level(logging.WARNING):
        assert _hook(default_in_file=True).fsync is True
        assert _collector().capture_prompts is False
        assert _api().run_deriver is True
    assert caplog.records == []


def test_the_hook_config_file_follows_the_same_rule() -> None:
    for spelling, value in ACCEPTED:
        assert HookSettings({"traceability": {"capture_prompts": spelling}}).capture_prompts is value
    for spelling in REJECTED:
        assert HookSettings({"traceability": {"fsync": spelling}}).fsync is False
