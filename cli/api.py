"""`traceability api`: the lineage API (FastAPI + uvicorn) with the pattern deriver running inside."""

from __future__ import annotations

import argparse
import sys

from traceability.cli import local_stack, options


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "api",
        help="serve the lineage API (/api/pattern-traceability) and derive patterns from stored spans",
    )
    parser.add_argument(
        "--host", help="address to bind (default: $INTELLIGENCE_SERVICE_HOST, else 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, help="port (default: $INTELLIGENCE_SERVICE_PORT, else 8053)")
    options.add_db_url(parser)
    parser.add_argument(
        "--no-deriver",
        action="store_true",
        help="do not derive patterns in this process ($TRACEABILITY_DERIVER=0)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from traceability.lineage_api.app import API_PREFIX, create_app
    from traceability.lineage_api.settings import Settings
    from traceability.serving.protocol import server_options

    level = options.configure_service_logging()
    try:
        settings = Settings.resolve(
            db_url=local_stack.resolve_db_url(args.db_url),
            host=args.host,
            port=args.port,
            run_deriver=False if args.no_deriver else None,
        )
    except ValueError as exc:
        print(f"traceability api: {exc}", file=sys.stderr)
        return 2
    base = f"http://{settings.host}:{settings.port}"
    print(
        f"web UI on {base}/, lineage API on {base}{API_PREFIX} (OpenAPI docs {base}/docs); "
        f"pattern deriver {'on' if settings.run_deriver else 'off'}",
        flush=True,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=level.lower(),
        access_log=False,
        **server_options(settings.limits),
    )
    return 0
