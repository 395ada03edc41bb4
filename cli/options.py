"""What several commands share: the ``--db-url`` option, the database a command needs, service logging."""

from __future__ import annotations

import argparse
import logging
import sys

from traceability.instrumentation.env import LOG_LEVEL_ENV, env_str

DB_URL_HELP = "database URL (default: TRACEABILITY_DB_URL, else the one `up` runs)"


def add_db_url(parser: argparse.ArgumentParser, help: str = DB_URL_HELP) -> None:
    parser.add_argument("--db-url", help=help)


def database_or_complain(db_url: str | None, command_name: str) -> str | None:
    """``local_stack.resolve_db_url``; when it finds none, None after saying so on stderr."""
    from traceability.cli import local_stack

    dsn = local_stack.resolve_db_url(db_url)
    if not dsn:
        print(local_stack.no_database_message(command_name), file=sys.stderr)
    return dsn


def configure_service_logging() -> str:
    """Log lines with time, level and logger at ``$LOG_LEVEL`` (default INFO); the level."""
    level = env_str(LOG_LEVEL_ENV, "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return level
