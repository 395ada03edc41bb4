"""`traceability collector`: the OTLP/HTTP receiver and the spool drainer."""

from __future__ import annotations

import argparse
import sys

from traceability.cli import local_stack, options


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "collector", help="receive OTLP/HTTP spans and drain the hook spool into PostgreSQL"
    )
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="OTLP/HTTP port (default 4318)")
    parser.add_argument(
        "--grpc-port",
        type=int,
        help="OTLP/gRPC port (default 4317, TRACEABILITY_COLLECTOR_GRPC_PORT; 0: off)",
    )
    parser.add_argument(
        "--spool-dir", help="spool directory (default: TRACEABILITY_SPOOL_DIR or ~/.local/state/...)"
    )
    options.add_db_url(parser)
    parser.add_argument(
        "--workers",
        type=int,
        help="processes serving the port, each also draining the spool (default 1; one per core for throughput)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from traceability.collector.service import serve
    from traceability.collector.settings import CollectorSettings

    level = options.configure_service_logging()
    try:
        settings = CollectorSettings.resolve(
            db_url=local_stack.resolve_db_url(args.db_url),
            spool_dir=args.spool_dir,
            host=args.host,
            port=args.port,
            grpc_port=args.grpc_port,
            workers=args.workers,
        )
    except ValueError as exc:
        print(f"traceability collector: {exc}", file=sys.stderr)
        return 2
    print(
        f"collector listening on http://{settings.host}:{settings.port}/v1/{{traces,logs,metrics}} "
        f"(OTLP/HTTP protobuf+JSON) and OTLP/gRPC on port {settings.grpc_port or 'off'}, "
        f"draining spool {settings.spool_dir}",
        flush=True,
    )
    serve(settings, log_level=level.lower())
    return 0
