"""A small tmpfs mounted over a directory, to fill a disk for real (only root may mount).

Tests that use it carry ``@pytest.mark.root_only``: tests/conftest.py skips them, with the reason,
for anyone not root. As root, a mount can still be refused (a container without CAP_SYS_ADMIN):
that is a skip on a workstation and a failure under ``CI=true``, since a CI job running as root is
expected to be able to run every test.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@contextmanager
def mounted_tmpfs(path: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (``"64k"``) over ``path`` for the block; unmounted after it."""
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        reason = f"cannot mount a tmpfs on {path}: {(result.stderr or result.stdout).strip()}"
        if in_ci():
            pytest.fail(f"{reason} (CI=true runs as root and must be able to)", pytrace=False)
        pytest.skip(reason)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
