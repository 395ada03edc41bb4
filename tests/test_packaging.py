"""Every Python package folder is listed in pyproject, so a wheel (not only the editable install) has
it; the version is written in pyproject only."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FOLDERS = ("instrumentation", "collector", "exporter", "lineage_api", "hooks", "cli", "serving")


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


def test_the_version_is_written_once_and_read_from_the_package_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pyproject.toml holds the version; the API, the tracer's resource and the hook report the
    installed metadata's value, and no other source file spells it out."""
    from importlib import metadata

    from traceability.hooks.main import VERSION
    from traceability.instrumentation import semconv as sc
    from traceability.instrumentation import version as version_module
    from traceability.instrumentation.resource import build_resource
    from traceability.lineage_api.app import create_app
    from traceability.lineage_api.settings import Settings

    written = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert metadata.version("pattern-traceability") == written
    assert (
        create_app(Settings.resolve(db_url="postgresql://u@127.0.0.1:1/x", run_deriver=False)).version
        == written
    )
    assert build_resource().attributes[sc.SERVICE_VERSION] == written
    assert written == VERSION  # the hook's constant (importlib.metadata is too slow for it)
    spelled = [
        str(path.relative_to(ROOT))
        for folder in SOURCE_FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if f'"{written}"' in path.read_text() and path != ROOT / "hooks" / "main.py"
    ]
    assert spelled == []

    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)  # an uninstalled checkout (version.py reads it)
    assert version_module.package_version() == version_module.UNKNOWN_VERSION
