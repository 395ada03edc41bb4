"""`traceability lineage show PATTERN`: a pattern's ancestry or descendants, drawn in the terminal.

PATTERN is a pattern id or a pattern's exact name (the API resolves it; a name several patterns
share is an error listing their ids). Nodes are drawn as ``name (id@version)``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from traceability.instrumentation.env import API_PORT_ENV, API_URL_ENV, env_int, env_str


def _default_url() -> str:
    url = env_str(API_URL_ENV)
    if url:
        return url.rstrip("/")
    return f"http://127.0.0.1:{env_int(API_PORT_ENV, 8053, minimum=1, maximum=65535)}"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("lineage", help="show a pattern's lineage (asks the running lineage API)")
    actions = parser.add_subparsers(dest="lineage_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="draw a pattern's ancestry (default) or descendants")
    show.add_argument("pattern_id", metavar="PATTERN", help="a pattern id or a pattern's exact name")
    show.add_argument("--descendants", action="store_true", help="children instead of parents")
    show.add_argument("--depth", type=int, default=10, help="hops to follow (default 10)")
    show.add_argument("--version", help="a version of the pattern (default: the newest)")
    show.add_argument("--format", choices=("tree", "mermaid", "dot"), default="tree")
    show.add_argument(
        "--url", help="lineage API base URL (default: $INTELLIGENCE_SERVICE_URL, else http://127.0.0.1:8053)"
    )
    show.set_defaults(func=run)


def api_base(url: str | None) -> str:
    return (url or _default_url()).rstrip("/") + "/api/pattern-traceability"


def _error_message(response: Any) -> str:
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return str(response.text)


def api_get(base: str, path: str, params: dict[str, Any], *, prog: str) -> Any:
    """GET a JSON answer from the API; None (after printing why on stderr) when there is none."""
    import httpx

    try:
        response = httpx.get(base + path, params=params, timeout=10)
    except httpx.HTTPError as exc:
        print(f"{prog}: cannot reach the lineage API at {base}: {exc}", file=sys.stderr)
        return None
    if response.status_code != 200:
        print(f"{prog}: {_error_message(response)}", file=sys.stderr)
        return None
    return response.json()


def run(args: argparse.Namespace) -> int:
    import httpx

    base = api_base(args.url)
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
        print(f"traceability lineage: {_error_message(response)}", file=sys.stderr)
        return 1
    sys.stdout.write(response.text)
    return 0
