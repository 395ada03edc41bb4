"""`traceability derive`: derive patterns from stored tool spans now (a backfill), with a progress bar.

Looks at every stored tool span, whatever the API's deriver checkpoint says, and derives each one
not derived yet (a span is claimed when it is derived, so an interrupted run continues where it
stopped, and running it again adds nothing). Safe next to a running `traceability api`: only one
deriver works at a time per database.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from traceability.cli import options


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "derive",
        help="derive patterns, lineage and pattern executions from stored Write/Edit/MultiEdit spans",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_db_url(parser)
    parser.add_argument("--batch-size", type=int, default=500, help="tool spans per batch (default: 500)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from traceability.exporter.storage.database import redact_dsn

    dsn = options.database_or_complain(args.db_url, "derive")
    if not dsn:
        return 2
    try:
        return asyncio.run(_derive(dsn, args))
    except OSError as exc:
        print(f"traceability derive: cannot reach the database at {redact_dsn(dsn)}: {exc}", file=sys.stderr)
        return 1


async def _derive(dsn: str, args: argparse.Namespace) -> int:
    from traceability.cli.demo import Progress
    from traceability.exporter.storage.database import create_pool
    from traceability.lineage_api.deriver.pipeline import PatternDeriver

    pool = await create_pool(dsn, min_size=1, max_size=2, timeout=10)
    try:
        deriver = PatternDeriver(batch_size=args.batch_size)
        pending = await deriver.pending(pool, everything=True)
        bar = None if args.quiet else Progress(pending, "deriving patterns")
        result = await deriver.run(pool, progress=bar.advance if bar else None, everything=True)
        if bar:
            bar.finish()
    finally:
        await pool.close()
    if result.busy:
        print("another deriver is running on this database (e.g. inside the lineage API); nothing done")
        return 0
    print(
        f"derived {result.executions} tool uses: {result.units} pattern uses, {result.nodes_created} new versions"
    )
    return 0
