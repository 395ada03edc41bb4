"""bench/soak as a slow test: a minute of sustained load with concurrent fuzz loses nothing and
answers no 5xx."""

from __future__ import annotations

import pytest

from bench.soak.__main__ import main


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_soak_one_minute_loses_nothing_and_answers_no_5xx() -> None:
    assert main(["--duration", "60"]) == 0
