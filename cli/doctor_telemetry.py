"""`traceability doctor`'s check that Claude Code's own telemetry is turned on and arriving."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

from traceability.cli.doctor import FAIL, OK, WARN, Finding, settings_files
from traceability.instrumentation.env import OTLP_ENDPOINT_ENV

PIECE = "claude code telemetry"
FIX_INSTALL = "run `traceability hooks install --user --telemetry` (then restart Claude Code)"


def check_native_telemetry(project_dir: Path, db_url: str | None, collector_url: str) -> Finding:
    from traceability.hooks.telemetry_env import telemetry_enabled

    enabled: list[tuple[Path, dict[str, str]]] = []
    for path in settings_files(project_dir.resolve()):
        try:
            data = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError):
            continue  # the hooks check reports unreadable settings
        env = telemetry_enabled(data) if isinstance(data, dict) else None
        if env is not None:
            enabled.append((path, env))
    if not enabled:
        return Finding(
            PIECE, WARN, "Claude Code's own telemetry is not turned on in any settings file", FIX_INSTALL
        )
    path, env = enabled[-1]  # the most specific file wins
    endpoint = env.get(OTLP_ENDPOINT_ENV, "").rstrip("/")
    if endpoint and endpoint != collector_url.rstrip("/"):
        return Finding(
            PIECE,
            WARN,
            f"{path} sends Claude Code's telemetry to {endpoint}, not to the collector at {collector_url}",
            FIX_INSTALL.replace("--telemetry", f"--telemetry --endpoint {collector_url}"),
        )
    if not db_url:
        return Finding(PIECE, WARN, f"turned on in {path}; no database to check that it arrives")
    try:
        events, spans, newest = asyncio.run(_arrivals(db_url))
    except Exception as exc:
        return Finding(PIECE, WARN, f"turned on in {path}; cannot check arrivals: {exc.__class__.__name__}")
    if events == 0 and spans == 0:
        return Finding(
            PIECE,
            FAIL,
            f"turned on in {path}, but no Claude Code event or span has arrived",
            "start the collector, restart Claude Code, and check that it can reach "
            f"{endpoint or collector_url} (OTEL_EXPORTER_OTLP_ENDPOINT)",
        )
    detail = f", newest event at {newest.isoformat()}" if newest else ""
    return Finding(PIECE, OK, f"turned on in {path}: {events} events and {spans} spans stored{detail}")


async def _arrivals(db_url: str) -> tuple[int, int, datetime | None]:
    import asyncpg

    from traceability.exporter.storage import database
    from traceability.exporter.storage.native_join import native_arrivals

    conn = await asyncpg.connect(database.asyncpg_dsn(db_url), timeout=5)
    try:
        return await native_arrivals(conn)
    finally:
        await conn.close()
