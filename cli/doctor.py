"""`traceability doctor`: checks every piece and says, in plain words, what is wrong and how to fix it.

Checks: the database (reachable, migrated to head), the spool (writable, how many files wait),
the collector and the lineage API (answering their health checks), the Claude Code hooks
(installed, in which settings file), and Claude Code's own telemetry (turned on, arriving). Exit code 1 when anything is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from traceability.cli import local_stack, options
from traceability.cli.command import user_command
from traceability.instrumentation.env import (
    API_PORT_ENV,
    API_URL_ENV,
    COLLECTOR_HOST_ENV,
    COLLECTOR_PORT_ENV,
    SPOOL_DIR_ENV,
    env_int,
    env_str,
)

OK, WARN, FAIL = "ok", "warn", "FAIL"
HOOK_COMMAND_MARKERS = (
    "traceability hook",
    "traceability.cli.main hook",
    "traceability-hook",
    "traceability.hooks",
)


@dataclass(frozen=True)
class Finding:
    piece: str
    level: str  # ok | warn | FAIL
    message: str
    fix: str = ""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("doctor", help="check every piece and say what is wrong and how to fix it")
    options.add_db_url(
        parser, help="database to check (default: TRACEABILITY_DB_URL, else the one `up` runs)"
    )
    parser.add_argument(
        "--collector-url", help="collector base URL (default: from `up`, else http://127.0.0.1:4318)"
    )
    parser.add_argument(
        "--api-url", help="lineage API base URL (default: INTELLIGENCE_SERVICE_URL, else from `up`)"
    )
    parser.add_argument("--spool-dir", help="spool directory (default: TRACEABILITY_SPOOL_DIR)")
    parser.add_argument("--data-dir", help="`up`'s data dir (default: TRACEABILITY_DATA_DIR)")
    parser.add_argument("--project-dir", default=".", help="project whose .claude/settings*.json to check")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    findings = diagnose(args)
    report(findings, as_json=args.json)
    return 1 if any(f.level == FAIL for f in findings) else 0


def diagnose(args: argparse.Namespace) -> list[Finding]:
    from traceability.instrumentation.spool import resolve_spool_dir

    run = user_command()
    data_dir = local_stack.resolve_data_dir(args.data_dir)
    state = local_stack.read_state(data_dir)
    findings: list[Finding] = []
    if state:
        findings.append(Finding("up", OK, f"`traceability up` runs (pid {state.pid})"))
    db_url = local_stack.resolve_db_url(args.db_url, args.data_dir)
    findings.append(check_database(db_url, data_dir))
    spool_dir = Path(
        args.spool_dir or (state.spool_dir if state and not env_str(SPOOL_DIR_ENV) else resolve_spool_dir())
    )
    findings.append(check_spool(spool_dir))
    waiting = len(waiting_files(spool_dir))
    default_collector = local_stack.http_url(
        env_str(COLLECTOR_HOST_ENV, local_stack.DEFAULT_HOST),
        env_int(COLLECTOR_PORT_ENV, local_stack.DEFAULT_COLLECTOR_PORT, minimum=1, maximum=65535),
    )
    collector_url = (args.collector_url or (state.collector_url if state else default_collector)).rstrip("/")
    findings.append(
        check_http(
            "collector",
            collector_url + local_stack.COLLECTOR_HEALTH_PATH,
            fix=f"start it: `{run} up` (everything) or `{run} collector`"
            + (f"; {waiting} spool file(s) wait for it" if waiting else ""),
        )
    )
    default_api = env_str(API_URL_ENV) or local_stack.http_url(
        local_stack.DEFAULT_HOST,
        env_int(API_PORT_ENV, local_stack.DEFAULT_API_PORT, minimum=1, maximum=65535),
    )
    api_url = (args.api_url or (state.api_url if state and not env_str(API_URL_ENV) else default_api)).rstrip(
        "/"
    )
    findings.append(
        check_http(
            "lineage API",
            api_url + local_stack.API_HEALTH_PATH,
            fix=f"start it: `{run} up` (everything) or `{run} api`",
            healthy=lambda body: body.get("status") in (None, "healthy"),
        )
    )
    findings.append(check_hooks(Path(args.project_dir)))
    from traceability.cli.doctor_telemetry import check_native_telemetry

    findings.append(check_native_telemetry(Path(args.project_dir), db_url, collector_url))
    return findings


def check_database(db_url: str | None, data_dir: Path) -> Finding:
    from traceability.exporter.storage import database

    run = user_command()
    if not db_url:
        from traceability.exporter.devtools.embedded_pg import find_bin_dir

        if find_bin_dir() is None:
            return Finding(
                "database",
                FAIL,
                "no database URL is set and no PostgreSQL binaries were found for a private one",
                "install PostgreSQL (Debian: apt-get install postgresql) or `pip install pgserver`, "
                "or set TRACEABILITY_DB_URL=postgresql://user:pass@host:5432/db",
            )
        return Finding(
            "database",
            FAIL,
            f"no database is running: TRACEABILITY_DB_URL is not set and `traceability up` is not running "
            f"(its private PostgreSQL lives in {data_dir})",
            f"run `{run} up`, or set TRACEABILITY_DB_URL to your PostgreSQL",
        )
    shown = database.redact_dsn(db_url)
    try:
        revision = asyncio.run(_revision(db_url))
    except Exception as exc:
        return Finding(
            "database",
            FAIL,
            f"cannot connect to {shown}: {exc.__class__.__name__}: {exc}",
            "check that PostgreSQL runs and the URL (host, port, user, password, database) is right",
        )
    head = database.head_revision()
    if revision is None:
        return Finding("database", FAIL, f"{shown} is reachable but has no schema", f"run `{run} db upgrade`")
    if revision != head:
        return Finding(
            "database",
            FAIL,
            f"{shown} is at migration {revision}, the code expects {head}",
            f"run `{run} db upgrade`",
        )
    return Finding("database", OK, f"{shown} is reachable and migrated to {head}")


async def _revision(db_url: str) -> str | None:
    import asyncpg

    from traceability.exporter.storage import database

    conn = await asyncpg.connect(database.asyncpg_dsn(db_url), timeout=5)
    try:
        return await database.current_revision(conn)
    finally:
        await conn.close()


def waiting_files(spool_dir: Path) -> list[os.DirEntry[str]]:
    """The complete spool files not yet drained by the collector."""
    from traceability.instrumentation.spool import is_ready_spool_file

    try:
        return [e for e in os.scandir(spool_dir) if e.is_file() and is_ready_spool_file(e.name)]
    except OSError:
        return []


def check_spool(spool_dir: Path) -> Finding:
    try:
        spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = spool_dir / f".doctor-{os.getpid()}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return Finding(
            "spool",
            FAIL,
            f"the hooks cannot write to {spool_dir}: {exc.strerror or exc}",
            f"fix the permissions of {spool_dir} or point TRACEABILITY_SPOOL_DIR at a writable directory",
        )
    ready = waiting_files(spool_dir)
    if not ready:
        return Finding("spool", OK, f"{spool_dir} is writable and empty (nothing waiting)")
    oldest = min(e.stat().st_mtime for e in ready)
    age = _age(time.time() - oldest)
    return Finding(
        "spool",
        OK if time.time() - oldest < 60 else WARN,
        f"{spool_dir} is writable, {len(ready)} file(s) waiting (oldest {age} old)",
        ""
        if time.time() - oldest < 60
        else "the collector drains the spool: make sure it runs and reaches the database",
    )


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def check_http(
    piece: str, url: str, *, fix: str, healthy: Callable[[dict[str, object]], bool] | None = None
) -> Finding:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        return Finding(piece, FAIL, f"{url} answered HTTP {exc.code}", f"read its log; {fix}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Finding(piece, FAIL, f"nothing answers at {url} ({reason})", fix)
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    if healthy is not None and isinstance(body, dict) and not healthy(body):
        return Finding(
            piece,
            WARN,
            f"{url} answers but reports {body.get('status')!r}",
            "read its log for the failing component",
        )
    return Finding(piece, OK, f"up at {url.rsplit('/', 1)[0] if piece == 'collector' else url}")


def settings_files(project_dir: Path) -> list[Path]:
    """Claude Code's settings files, in the order it documents: user, then project, then local."""
    home = Path(os.path.expanduser("~"))
    candidates = [
        home / ".claude" / "settings.json",
        project_dir / ".claude" / "settings.json",
        project_dir / ".claude" / "settings.local.json",
    ]
    return list(dict.fromkeys(candidates))  # the project may be the home directory


def check_hooks(project_dir: Path) -> Finding:
    from traceability.hooks.install import is_ours

    found: list[str] = []
    problems: list[str] = []
    for path in settings_files(project_dir.resolve()):
        if not path.exists():
            continue
        try:
            settings = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            problems.append(f"{path} is not valid JSON ({exc})")
            continue
        events = sorted(
            event
            for event, groups in (settings.get("hooks") or {}).items()
            if any(
                is_ours(handler.get("command"))
                for group in groups or []
                for handler in group.get("hooks", [])
            )
        )
        if events:
            found.append(f"{path} ({len(events)} events: {', '.join(events)})")
    if problems:
        return Finding(
            "hooks", FAIL, "; ".join(problems), f"fix the JSON, then `{user_command()} hooks install --user`"
        )
    if not found:
        return Finding(
            "hooks",
            FAIL,
            "the traceability hook is not in any Claude Code settings file ("
            + ", ".join(str(p) for p in settings_files(project_dir.resolve()))
            + ")",
            f"run `{user_command()} hooks install --user` (all projects) or `--project DIR`",
        )
    return Finding("hooks", OK, "installed in " + "; ".join(found))


def report(findings: list[Finding], *, as_json: bool, out: IO[str] | None = None) -> None:
    out = out or sys.stdout
    if as_json:
        json.dump([f.__dict__ for f in findings], out, indent=2)
        out.write("\n")
        return
    marks = {OK: "✓", WARN: "!", FAIL: "✗"}
    for f in findings:
        print(f"{marks[f.level]} {f.piece:<12} {f.message}", file=out)
        if f.fix and f.level != OK:
            print(f"  {'':<12} fix: {f.fix}", file=out)
    bad = [f for f in findings if f.level == FAIL]
    print("\nall good" if not bad else f"\n{len(bad)} problem(s) found", file=out)
