"""Every Python package folder is listed in pyproject, so a wheel (not only the editable install) has it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_in_the_distribution() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    folders = {name.removeprefix("traceability.") for name in config["package-dir"]}
    found = {
        "traceability." + str(init.parent.relative_to(ROOT)).replace("/", ".")
        for top in folders
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found == listed, f"missing: {sorted(found - listed)}; stale: {sorted(listed - found)}"
