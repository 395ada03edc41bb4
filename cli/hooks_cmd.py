"""`traceability hooks install|uninstall`: add our hook to Claude Code's settings.json, or take it out."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("hooks", help="install or uninstall the Claude Code hooks")
    actions = parser.add_subparsers(dest="hooks_action", metavar="ACTION", required=True)
    for name, help_text in (
        ("install", "merge the tracing hook into settings.json (keeps your hooks, backs the file up)"),
        ("uninstall", "remove exactly the entries `hooks install` added"),
    ):
        sub = actions.add_parser(name, help=help_text)
        where = sub.add_mutually_exclusive_group()
        where.add_argument("--user", action="store_true", help="~/.claude/settings.json (the default)")
        where.add_argument("--project", metavar="DIR", help="DIR/.claude/settings.json")
        sub.add_argument("--settings", metavar="FILE", help="an explicit settings.json path")
        if name == "install":
            sub.add_argument(
                "--slow", action="store_true", help="run `traceability hook` instead of the fast direct form"
            )
            sub.add_argument("--python", help="interpreter for the fast form (default: this one)")
            sub.add_argument("--timeout", type=int, default=None, help="seconds per hook (default 10)")
            sub.add_argument("--events", help="comma-separated hook events (default: all but MessageDisplay)")
            sub.add_argument(
                "--telemetry",
                action="store_true",
                help="also turn on Claude Code's own OpenTelemetry (settings.json env), sent to our collector",
            )
            sub.add_argument(
                "--endpoint",
                help="collector base URL for --telemetry (default: http://TRACEABILITY_COLLECTOR_HOST:PORT, "
                "else http://127.0.0.1:4318)",
            )
            sub.add_argument(
                "--protocol", choices=("http/protobuf", "http/json"), default="http/protobuf",
                help="OTLP protocol for --telemetry",
            )  # fmt: skip
        sub.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from traceability.hooks import install as inst
    from traceability.hooks import telemetry_env

    if args.settings:
        path = Path(args.settings)
    else:
        path = inst.settings_path("project" if args.project else "user", args.project)
    try:
        if args.hooks_action == "install":
            command = inst.slow_command() if args.slow else inst.fast_command(args.python)
            events = (
                tuple(e.strip() for e in args.events.split(",") if e.strip())
                if args.events
                else inst.DEFAULT_EVENTS
            )
            timeout = args.timeout or inst.DEFAULT_TIMEOUT_S
            telemetry = (
                telemetry_env.telemetry_env(args.endpoint or _default_endpoint(), args.protocol)
                if args.telemetry
                else None
            )
            change = inst.install(
                path, command, events, timeout, max(timeout, inst.PRE_TOOL_TIMEOUT_S), telemetry=telemetry
            )
        else:
            change = inst.uninstall(path)
    except (OSError, ValueError) as exc:
        print(f"traceability hooks {args.hooks_action}: {path}: {exc}", file=sys.stderr)
        return 1
    if not change.changed:
        print(f"{path}: already up to date, nothing changed")
    else:
        verb = "installed" if args.hooks_action == "install" else "removed"
        count = change.added if args.hooks_action == "install" else change.removed
        also = " and Claude Code's telemetry env" if getattr(args, "telemetry", False) else ""
        print(
            f"{path}: {verb} {count} hook entries{also}"
            + (f" (backup: {change.backup})" if change.backup else "")
        )
    return 0


def _default_endpoint() -> str:
    from traceability.instrumentation.env import COLLECTOR_HOST_ENV, COLLECTOR_PORT_ENV, env_int, env_str

    host = env_str(COLLECTOR_HOST_ENV, "127.0.0.1")
    port = env_int(COLLECTOR_PORT_ENV, 4318, minimum=1, maximum=65535)
    return f"http://{host}:{port}"
