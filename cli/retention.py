"""`traceability retention --older-than 30d [--dry-run]`: delete old traces in small batches."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from traceability.cli import options


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "retention",
        help="delete traces (and their hook executions) older than a duration, in small batches",
    )
    parser.add_argument(
        "--older-than", required=True, help="age of the traces to delete: 30d, 12h, 2w, 1d12h, ..."
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would be deleted; delete nothing")
    options.add_db_url(parser)
    parser.add_argument(
        "--batch-rows", type=int, default=5000, help="hook rows deleted per transaction (default 5000)"
    )
    parser.add_argument(
        "--pause-ms", type=int, default=0, help="sleep between transactions, to leave room for ingest"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from traceability.exporter.storage.retention import parse_duration

    dsn = options.database_or_complain(args.db_url, "retention")
    if not dsn:
        return 2
    try:
        older_than = parse_duration(args.older_than)
    except ValueError as exc:
        print(f"traceability retention: {exc}", file=sys.stderr)
        return 2
    if args.batch_rows < 1:
        print("traceability retention: --batch-rows must be at least 1", file=sys.stderr)
        return 2
    return asyncio.run(_run(dsn, older_than, args))


async def _run(dsn: str, older_than: Any, args: argparse.Namespace) -> int:
    import asyncpg

    from traceability.exporter.storage import database
    from traceability.exporter.storage.retention import (
        RetentionProgress,
        RetentionSettings,
        cutoff_for,
        delete_older_than,
        plan,
    )

    try:
        conn = await asyncpg.connect(database.asyncpg_dsn(dsn), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"traceability retention: cannot connect to {database.redact_dsn(dsn)}: {exc}", file=sys.stderr)
        return 1
    try:
        cutoff = cutoff_for(older_than)
        found = await plan(conn, cutoff)
        span = (
            f" (oldest {found.oldest:%Y-%m-%d %H:%M}, newest {found.newest:%Y-%m-%d %H:%M})"
            if found.oldest
            else ""
        )
        verb = "would delete" if args.dry_run else "deleting"
        print(
            f"traces started before {cutoff:%Y-%m-%d %H:%M:%S %Z}: {verb} {found.traces} traces and "
            f"{found.hook_executions} hook executions{span}",
            flush=True,
        )
        if args.dry_run or not found.traces:
            return 0

        def show(p: RetentionProgress) -> None:
            total = max(p.planned_traces, 1)
            width = 30
            filled = min(width, width * p.traces_deleted // total)
            rate = p.hook_executions_deleted / p.elapsed_s if p.elapsed_s else 0.0
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {p.traces_deleted}/{p.planned_traces} traces, "
                f"{p.hook_executions_deleted} hook rows, {rate:,.0f} rows/s"
            )
            sys.stderr.flush()

        settings = RetentionSettings(batch_rows=args.batch_rows, pause_s=args.pause_ms / 1000)
        done = await delete_older_than(conn, cutoff, settings, on_progress=show)
        sys.stderr.write("\n")
        print(
            f"deleted {done.traces_deleted} traces and {done.hook_executions_deleted} hook executions "
            f"in {done.transactions} transactions, {done.elapsed_s:.1f}s"
            + (f" ({done.lock_timeouts} lock waits retried)" if done.lock_timeouts else "")
        )
        return 0
    finally:
        await conn.close()
