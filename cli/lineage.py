"""`traceability lineage show PATTERN_ID`: a pattern's ancestry or descendants, drawn in the terminal."""

from __future__ import annotations

import argparse
import os
import sys


def _default_url() -> str:
    url = os.environ.get("INTELLIGENCE_SERVICE_URL")
    if url:
        return url.rstrip("/")
    return f"http://127.0.0.1:{os.environ.get('INTELLIGENCE_SERVICE_PORT') or 8053}"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("lineage", help="show a pattern's lineage (asks the running lineage API)")
    actions = parser.add_subparsers(dest="lineage_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="draw a pattern's ancestry (default) or descendants")
    show.add_argument("pattern_id")
    show.add_argument("--descendants", action="store_true", help="children instead of parents")
    show.add_argument("--depth", type=int, default=10, help="hops to follow (default 10)")
    show.add_argument("--version", help="a version of the pattern (default: the newest)")
    show.add_argument("--format", choices=("tree", "mermaid", "dot"), default="tree")
    show.add_argument(
        "--url", help="lineage API base URL (default: $INTELLIGENCE_SERVICE_URL, else http://127.0.0.1:8053)"
    )
    show.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import httpx

    base = (args.url or _default_url()).rstrip("/") + "/api/pattern-traceability"
    params = {
        "query_type": "descendants" if args.descendants else "ancestry",
        "max_depth": args.depth,
        "format": args.format,
    }
    if args.version:
        params["version"] = args.version
    try:
        response = httpx.get(f"{base}/lineage/{args.pattern_id}", params=params, timeout=10)
    except httpx.HTTPError as exc:
        print(f"traceability lineage: cannot reach the lineage API at {base}: {exc}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text
        print(f"traceability lineage: {message}", file=sys.stderr)
        return 1
    sys.stdout.write(response.text)
    return 0
