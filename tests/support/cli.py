"""Running `traceability` commands as a subprocess (doctor, hooks install), shared by the deploy and hook tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from traceability.exporter.devtools.embedded_pg import free_port


def doctor(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, dict[str, Any]]]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("TRACEABILITY_", "XDG_", "INTELLIGENCE_"))
    }
    base["HOME"] = str(home)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "traceability.cli.main",
            "doctor",
            "--json",
            "--collector-url",
            f"http://127.0.0.1:{free_port()}",
            "--api-url",
            f"http://127.0.0.1:{free_port()}",
            "--project-dir",
            str(home),
            *args,
        ],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    findings = {f["piece"]: f for f in json.loads(result.stdout)}
    return result.returncode, findings


USER_SETTINGS: dict[str, Any] = {
    "permissions": {"allow": ["Bash(ls:*)"]},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "~/bin/guard.sh", "timeout": 5}]}
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}],
    },
}


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "traceability.cli.main", "hooks", *args],
        capture_output=True, text=True, env={"HOME": str(home), "PATH": "/usr/bin:/bin"}, check=False,
    )  # fmt: skip
