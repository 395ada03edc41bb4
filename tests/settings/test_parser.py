"""The light parser the hook path uses (instrumentation/env.py): a bad value is logged as a warning
naming the variable and the default, and the default is used; never an exception."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from traceability.instrumentation import env
from traceability.instrumentation.env import env_bool, env_float, env_int, env_list, env_str

NAME = env.COLLECTOR_PORT_ENV  # any variable; the parser does not care which


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == env.__name__ and r.levelno == logging.WARNING]


@pytest.mark.parametrize(
    ("text", "minimum", "maximum", "expected"),
    [
        ("abc", None, None, "an integer"),
        ("1.5", None, None, "an integer"),
        ("0x10", None, None, "an integer"),
        ("", None, None, None),
        ("0", 1, None, "an integer >= 1"),
        ("70000", 1, 65535, "an integer from 1 to 65535"),
        ("-3", None, -5, "an integer <= -5"),
    ],
)
def test_bad_int_logs_and_uses_the_default(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    text: str,
    minimum: int | None,
    maximum: int | None,
    expected: str | None,
) -> None:
    monkeypatch.setenv(NAME, text)
    with caplog.at_level(logging.WARNING):
        assert env_int(NAME, 4318, minimum=minimum, maximum=maximum) == 4318
    assert _warnings(caplog) == (
        [] if expected is None else [f"{NAME}={text!r} is not {expected}; using the default 4318"]
    )


@pytest.mark.parametrize("text", ["abc", "nan", "NaN", "inf", "-inf", "1e400", "1,5"])
def test_bad_float_logs_and_uses_the_default(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    monkeypatch.setenv(NAME, text)
    with caplog.at_level(logging.WARNING):
        assert env_float(NAME, 2.5) == 2.5
    assert _warnings(caplog) == [f"{NAME}={text!r} is not a number; using the default 2.5"]


def test_float_bounds(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(NAME, "0.5")
    with caplog.at_level(logging.WARNING):
        assert env_float(NAME, 2.0, minimum=1.0, maximum=3.0) == 2.0
        assert env_float(NAME, 2.0, minimum=0.5, maximum=0.5) == 0.5
    assert _warnings(caplog) == [f"{NAME}='0.5' is not a number from 1.0 to 3.0; using the default 2.0"]


def test_good_values_parse(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(NAME, " 4319 ")
    with caplog.at_level(logging.WARNING):
        assert env_int(NAME, 1, minimum=1, maximum=65535) == 4319
        assert env_float(NAME, 1.0) == 4319.0
        assert env_str(NAME) == "4319"
    monkeypatch.setenv(NAME, " a, ,B ,c,")
    assert env_list(NAME) == ("a", "B", "c")
    monkeypatch.delenv(NAME)
    assert (env_int(NAME, 7), env_float(NAME, 0.25), env_str(NAME, "d"), env_list(NAME)) == (7, 0.25, "d", ())
    assert env_bool(NAME, True) is True
    assert _warnings(caplog) == []


def test_a_warn_callback_gets_the_message_instead_of_logging(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The hook passes a callback: it writes warnings to its own log file once it knows where."""
    monkeypatch.setenv(NAME, "many")
    seen: list[str] = []
    with caplog.at_level(logging.WARNING):
        assert env_int(NAME, 3, warn=seen.append) == 3
        assert env_bool(NAME, False, warn=seen.append) is False
    assert seen == [
        f"{NAME}='many' is not an integer; using the default 3",
        f"{NAME}='many' is not a boolean (true/false, 1/0, yes/no, on/off); using the default False",
    ]
    assert _warnings(caplog) == []


def test_an_explicit_environ_mapping_is_read() -> None:
    assert env_int(NAME, 1, environ={NAME: "9"}) == 9
    assert env_str(NAME, "x", environ={}) == "x"


def test_the_parser_imports_nothing_heavy() -> None:
    """On the hook's path (registered as hooks/fast_entry.py does, ``-I -S``): importing and using the
    parser on good values loads no other module (no os, logging, re, typing)."""
    root = Path(env.__file__).resolve().parents[1]
    code = (
        "import sys\n"
        "for name, path in (('traceability', ROOT), ('traceability.instrumentation', ROOT + '/instrumentation')):\n"
        "    module = type(sys)(name); module.__path__ = [path]; sys.modules[name] = module\n"
        "import __future__  # every hook module starts with it\n"
        "before = set(sys.modules)\n"
        "import traceability.instrumentation.env as e\n"
        "e.env_int('X', 1); e.env_bool('Y', True); e.env_float('Z', 1.0); e.env_str('HOME')\n"
        "print(sorted(set(sys.modules) - before))\n"
    ).replace("ROOT", repr(str(root)))
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True, env={"X": "2"}
    )
    assert result.stdout.strip() == "['traceability.instrumentation.env']"
