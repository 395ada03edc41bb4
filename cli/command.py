"""How the user can run `traceability` as typed: the hints the commands print use ``user_command()``.

After ``make up`` the script lives in the project's venv, whose bin directory is usually not on
PATH; a hint saying just ``traceability doctor`` then fails with "command not found".
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

SCRIPT_NAME = "traceability"


def user_command() -> str:
    """``traceability`` when PATH finds this very installation; else the script's absolute path;
    else ``python -m traceability.cli.main`` with this interpreter."""
    script = Path(os.path.abspath(sys.executable)).parent / SCRIPT_NAME
    if script.is_file():
        found = shutil.which(SCRIPT_NAME)
        if found and os.path.samefile(found, script):
            return SCRIPT_NAME
        return shlex.quote(str(script))
    return f"{shlex.quote(os.path.abspath(sys.executable))} -m traceability.cli.main"
