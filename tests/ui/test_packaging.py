"""The web UI ships everything it reads: a wheel built from this tree holds the templates, assets
and the Grafana dashboard the overview page draws, and the overview reads it as a package resource."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from traceability.lineage_api.store import grafana_sql

REPO = Path(__file__).resolve().parents[2]
_NOT_SOURCES = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "tests", "docs")


def test_the_wheel_holds_what_the_ui_reads(tmp_path: Path) -> None:
    # built from a copy of the sources: setuptools writes build/ and *.egg-info next to them
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*_NOT_SOURCES))
    out = tmp_path / "wheel"
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(out)]
    subprocess.run(command, check=True, timeout=300)
    (wheel,) = out.glob("pattern_traceability-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    ui = "traceability/lineage_api/ui/"
    assert f"{ui}dashboards/pattern-traceability.json" in names
    for folder in ("templates", "static"):
        shipped = {
            p.relative_to(REPO / "lineage_api" / "ui").as_posix()
            for p in (REPO / "lineage_api" / "ui" / folder).iterdir()
        }
        assert {f"{ui}{name}" for name in shipped} <= names, folder
    packaged = zipfile.ZipFile(wheel).read(f"{ui}dashboards/pattern-traceability.json")
    assert packaged == (REPO / "lineage_api" / "ui" / "dashboards" / "pattern-traceability.json").read_bytes()


def test_the_overview_reads_the_dashboard_as_a_package_resource() -> None:
    resource = grafana_sql.DASHBOARDS / grafana_sql.MAIN_DASHBOARD
    assert resource.is_file()
    dashboard = grafana_sql.load_dashboard()
    assert dashboard["title"] and grafana_sql.panel_queries(dashboard)
