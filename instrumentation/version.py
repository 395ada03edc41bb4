"""The package's version, read from its installed metadata: pyproject.toml is the one place it is
written. (The hook keeps a constant, `hooks.main.VERSION`, because importing importlib.metadata
costs ~30 ms on every hook run; tests/hooks/test_events_and_safety.py keeps the two equal.)"""

from __future__ import annotations

from importlib import metadata

PACKAGE_NAME = "pattern-traceability"
UNKNOWN_VERSION = "0+unknown"  # a checkout run from source without `pip install -e .`


def package_version() -> str:
    try:
        return metadata.version(PACKAGE_NAME)
    except metadata.PackageNotFoundError:
        return UNKNOWN_VERSION
