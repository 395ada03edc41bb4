"""Turning on what the fast entry point (``python -I -S``) leaves off, for the paths that need it."""

from __future__ import annotations

import sys


def enable_site_packages() -> None:
    """Add the interpreter's site-packages (and its ``.pth`` files) when started with ``-S``.

    The quality enforcer, the RAG query and the YAML parse need PyYAML, ruff, httpx and the OTel
    SDK; a telemetry-only hook run never calls this.
    """
    if "site" in sys.modules:
        return
    import site

    site.main()
