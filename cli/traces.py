"""`traceability traces list|show`: find the trace of a prompt turn (asks the running lineage API).

``list`` filters by session id, prompt id or a piece of the prompt's text and prints one line per
trace, newest first, with the trace id Jaeger and ``traces show`` take; ``show`` prints one
trace's timeline (hook runs, tool uses, Claude Code's own spans and events, in time order, with
their status and duration), or with ``--span`` one span whole (its input, output and attributes).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from traceability.cli.lineage import api_base, api_get
from traceability.instrumentation.env import JAEGER_UI_URL_ENV
from traceability.instrumentation.semconv import SPAN_NAME_TURN


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "traces", help="find the trace of a turn by session, prompt id or prompt text (asks the lineage API)"
    )
    actions = parser.add_subparsers(dest="traces_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="traces, newest first, filtered")
    listing.add_argument("--session", help="Claude Code's session id")
    listing.add_argument("--prompt-id", help="Claude Code's prompt id")
    listing.add_argument("--search", help="a piece of the prompt's text (case-insensitive)")
    listing.add_argument("--kind", choices=("turn", "session"), help="turn traces or session traces only")
    listing.add_argument("--status", help="completed, failed, ...")
    listing.add_argument("--since", help="started at or after (ISO 8601)")
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20, at most 200)")
    listing.add_argument("--json", action="store_true", help="the API's JSON instead of a table")
    listing.set_defaults(func=run_list)
    show = actions.add_parser("show", help="one trace's spans and events in time order, or one span whole")
    show.add_argument("trace_id", help="the trace id (32 hex, as Jaeger shows it, or the correlation UUID)")
    show.add_argument("--span", metavar="SPAN_ID", help="one span of the trace, every field, as JSON")
    show.add_argument("--json", action="store_true", help="the API's JSON instead of a table")
    show.add_argument(
        "--full", action="store_true", help="with --json: every hook execution's whole row too (?detail=full)"
    )
    show.set_defaults(func=run_show)
    for sub in (listing, show):
        sub.add_argument(
            "--url",
            help="lineage API base URL (default: $INTELLIGENCE_SERVICE_URL, else http://127.0.0.1:8053)",
        )


def _when(value: str | None) -> str:
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _short(text: str | None, width: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def run_list(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"limit": args.limit}
    for key, value in (
        ("session_id", args.session),
        ("prompt_id", args.prompt_id),
        ("prompt", args.search),
        ("kind", args.kind),
        ("status", args.status),
        ("since", args.since),
    ):
        if value:
            params[key] = value
    body = api_get(api_base(args.url), "/traces", params, prog="traceability traces")
    if body is None:
        return 1
    if args.json:
        print(json.dumps(body["data"], indent=2))
        return 0
    data = body["data"]
    if not data["traces"]:
        print("no trace matches")
        return 0
    print(f"{'started (UTC)':19}  {'trace id':32}  {'status':11} {'tools':>5}  {'session':8}  prompt")
    for t in data["traces"]:
        kind = "(session events)" if t["span_name"] != SPAN_NAME_TURN else _short(t["prompt"], 60)
        print(
            f"{_when(t['started_at']):19}  {t['jaeger_trace_id']:32}  {t['status']:11} {t['tool_calls']:>5}  "
            f"{(t['session_id'] or '-')[:8]:8}  {kind or '(prompt not captured)'}"
        )
    if data["total"] > len(data["traces"]):
        print(f"({len(data['traces'])} of {data['total']}; --limit for more)")
    print("\nspans of one: traceability traces show TRACE_ID   (or open it in Jaeger)")
    return 0


def _clock(value: str | None) -> str:
    """An ISO time as UTC to the millisecond: the spans of one turn are often less than a second apart."""
    return (
        datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if value else "-"
    )


def run_show(args: argparse.Namespace) -> int:
    if args.span:
        found = api_get(
            api_base(args.url), f"/traces/{args.trace_id}/spans/{args.span}", {}, prog="traceability traces"
        )
        if found is None:
            return 1
        print(json.dumps(found["data"], indent=2))
        return 0
    params = {"detail": "full"} if args.full else {}
    body = api_get(api_base(args.url), f"/traces/{args.trace_id}", params, prog="traceability traces")
    if body is None:
        return 1
    data = body["data"]
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    trace = data["trace"]
    print(f"trace {data['jaeger_trace_id']}  {trace.get('span_name')}  {trace.get('status')}")
    print(
        f"  session {trace.get('session_key') or trace.get('session_id')}  prompt id {trace.get('prompt_id')}"
    )
    if trace.get("prompt_text"):
        print(f"  prompt  {_short(trace['prompt_text'], 100)}")
    print(f"  Jaeger  {data['jaeger_url'] or f'not configured (set {JAEGER_UI_URL_ENV} to link it)'}")
    for item in data["timeline"]:
        duration = item["duration_ms"]
        took = f"{duration:.0f} ms" if isinstance(duration, int | float) else "-"
        line = f"  {_clock(item['time'])}  {item['origin']:6} {item['name']:40} {item['status'] or '-':11} {took:>9}"
        print(f"{line}  {item['span_id']}" if item["span_id"] else line)
    for x in data["pattern_executions"]:
        print(f"  pattern {x['pattern_name']} ({x['pattern_id']}@{x['pattern_version']})  {x['file_path']}")
    print("\none span whole (input, output, attributes): traceability traces show TRACE_ID --span SPAN_ID")
    return 0
