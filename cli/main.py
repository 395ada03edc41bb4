"""`traceability`: the command line. Each sub-command lives in its own module under cli/."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module defines register(subparsers), which adds its parser and sets `func(args) -> int`.
COMMAND_MODULES = (
    "traceability.cli.db",
    "traceability.cli.collector",
    "traceability.cli.up",
    "traceability.cli.doctor",
    "traceability.cli.demo",
    "traceability.cli.dashboard",
    "traceability.cli.retention",
    "traceability.cli.api",
    "traceability.cli.derive",
    "traceability.cli.lineage",
    "traceability.cli.traces",
    "traceability.cli.hook",
    "traceability.cli.hooks_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="traceability",
        description="OpenTelemetry traces for Claude Code hooks, pattern lineage and analytics.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
