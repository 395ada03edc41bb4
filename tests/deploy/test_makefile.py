"""The Makefile's install steps, read through `make -n` (what make would run) on a scratch venv:
`make up` installs the package with its runtime dependencies only, `make test` adds the test
tools, and the stamp files keep either order (up then test, test then up) from reinstalling."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME_INSTALL = "pip install --quiet -e .\n"
TEST_INSTALL = "pip install --quiet -e '.[test]'"


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    """A venv directory make takes as existing: bin/python is there (this interpreter)."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    return bin_dir.parent


def _would_run(venv: Path, target: str) -> str:
    result = subprocess.run(
        ["make", "-n", "-C", str(REPO), f"VENV={venv}", target],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _stamp(venv: Path, name: str, newer_than_pyproject_by: float) -> None:
    path = venv / name
    path.touch()
    when = (REPO / "pyproject.toml").stat().st_mtime + newer_than_pyproject_by
    os.utime(path, (when, when))


def test_up_installs_the_runtime_only(venv: Path) -> None:
    plan = _would_run(venv, "up")
    assert RUNTIME_INSTALL in plan and TEST_INSTALL not in plan
    assert f"exec {venv}/bin/traceability up" in plan  # make's child is `up` itself


def test_test_installs_the_runtime_then_the_test_tools(venv: Path) -> None:
    plan = _would_run(venv, f"{venv}/.installed")
    assert plan.index(RUNTIME_INSTALL) < plan.index(TEST_INSTALL)


def test_up_then_test_adds_only_the_test_tools(venv: Path) -> None:
    _stamp(venv, ".installed-runtime", 10)  # after `make up`
    plan = _would_run(venv, f"{venv}/.installed")
    assert TEST_INSTALL in plan and RUNTIME_INSTALL not in plan


def test_test_then_up_installs_nothing(venv: Path) -> None:
    _stamp(venv, ".installed-runtime", 10)  # `make test` made both, the test stamp last
    _stamp(venv, ".installed", 20)
    assert "pip install --quiet -e" not in _would_run(venv, "up")
    assert "pip install --quiet -e" not in _would_run(venv, f"{venv}/.installed")


def test_a_changed_pyproject_reinstalls_both(venv: Path) -> None:
    _stamp(venv, ".installed-runtime", -20)  # pyproject.toml edited after both installs
    _stamp(venv, ".installed", -10)
    plan = _would_run(venv, f"{venv}/.installed")
    assert plan.index(RUNTIME_INSTALL) < plan.index(TEST_INSTALL)
