"""`traceability hook`: what Claude Code runs for every hook event (the slow, always-works form).

Reads the event JSON on stdin, writes spans to the spool, prints the enforcer's decision if any, and
exits 0 (``traceability hooks install`` writes the faster direct form of the same thing).
"""

from __future__ import annotations

import argparse
import time


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("hook", help="handle one Claude Code hook event from stdin (exit 0)")
    parser.set_defaults(func=run, started_ns=time.time_ns())


def run(args: argparse.Namespace) -> int:
    from traceability.hooks.main import main

    return main(args.started_ns)
