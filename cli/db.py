"""`traceability db upgrade|downgrade|current`: schema migrations."""

from __future__ import annotations

import argparse
import asyncio

from traceability.cli import options
from traceability.exporter.storage import database


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("db", help="apply or revert schema migrations")
    options.add_db_url(parser)
    actions = parser.add_subparsers(dest="action", required=True)
    up = actions.add_parser("upgrade", help="migrate to a revision (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    down = actions.add_parser("downgrade", help="revert to a revision (default: one step)")
    down.add_argument("revision", nargs="?", default="-1")
    actions.add_parser("current", help="print the revision the database is at")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    dsn = options.database_or_complain(args.db_url, "db")
    if not dsn:
        return 2
    if args.action == "upgrade":
        database.upgrade(dsn, args.revision)
        print(f"database {database.redact_dsn(dsn)} is at {args.revision}")
    elif args.action == "downgrade":
        database.downgrade(dsn, args.revision)
        print(f"database {database.redact_dsn(dsn)} downgraded to {args.revision}")
    else:
        print(asyncio.run(_current(dsn)) or "(not migrated)")
    return 0


async def _current(dsn: str) -> str | None:
    import asyncpg

    conn = await asyncpg.connect(database.asyncpg_dsn(dsn))
    try:
        return await database.current_revision(conn)
    finally:
        await conn.close()
