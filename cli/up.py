"""`traceability up`: everything on one machine, in the foreground, until Ctrl-C or SIGTERM.

With no database URL it runs a private PostgreSQL cluster under the user's data dir (port kept
stable across runs), applies the migrations, then starts the collector (OTLP/HTTP + spool
drainer) and the lineage API (with its pattern deriver) as child processes, each in its own
process group, and prints where each one listens. Stopping terminates the children's process
groups, stops PostgreSQL and keeps the data for next time.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from traceability.cli import local_stack, options, up_process
from traceability.cli.local_stack import StackState
from traceability.cli.parent_watch import ParentWatch
from traceability.instrumentation.env import (
    API_PORT_ENV,
    API_TOKEN_ENV,
    COLLECTOR_PORT_ENV,
    DB_URL_ENV,
    SPOOL_DIR_ENV,
    UP_HOST_ENV,
    env_int,
    env_str,
)


class StartupError(Exception):
    """A piece could not start; the message says which and why."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "up",
        help="run everything on this machine (PostgreSQL, collector, lineage API) until Ctrl-C",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host",
        help=f"address the collector and the API listen on (default: $TRACEABILITY_HOST, else {local_stack.DEFAULT_HOST})",
    )
    parser.add_argument(
        "--collector-port",
        type=int,
        help=f"OTLP/HTTP port (default: $TRACEABILITY_COLLECTOR_PORT, else {local_stack.DEFAULT_COLLECTOR_PORT})",
    )
    parser.add_argument(
        "--api-port",
        type=int,
        help=f"lineage API port (default: $INTELLIGENCE_SERVICE_PORT, else {local_stack.DEFAULT_API_PORT})",
    )
    parser.add_argument(
        "--spool-dir", help="spool directory the hooks write to (default: $TRACEABILITY_SPOOL_DIR)"
    )
    parser.add_argument(
        "--data-dir", help="where the private PostgreSQL and logs live (default: $TRACEABILITY_DATA_DIR)"
    )
    options.add_db_url(
        parser, help="use this PostgreSQL instead of a private one (default: $TRACEABILITY_DB_URL)"
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=60.0, help="seconds to wait for each piece (default: 60)"
    )
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class UpSettings:
    host: str
    collector_port: int
    api_port: int
    spool_dir: Path
    data_dir: Path
    db_url: str | None  # None: run the private cluster
    startup_timeout: float

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> UpSettings:
        from traceability.exporter.storage.database import resolve_dsn
        from traceability.instrumentation.spool import resolve_spool_dir

        return cls(
            host=args.host or env_str(UP_HOST_ENV, local_stack.DEFAULT_HOST),
            collector_port=args.collector_port
            or env_int(COLLECTOR_PORT_ENV, local_stack.DEFAULT_COLLECTOR_PORT, minimum=1, maximum=65535),
            api_port=args.api_port
            or env_int(API_PORT_ENV, local_stack.DEFAULT_API_PORT, minimum=1, maximum=65535),
            spool_dir=Path(resolve_spool_dir(args.spool_dir)).expanduser(),
            data_dir=local_stack.resolve_data_dir(args.data_dir),
            db_url=resolve_dsn(args.db_url),
            startup_timeout=args.startup_timeout,
        )


@dataclass
class LocalStack:
    settings: UpSettings
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    children: list[up_process.Child] = field(default_factory=list)
    embedded: Any = None  # EmbeddedPostgres while we run one
    db_url: str = ""
    parent: ParentWatch | None = field(default_factory=ParentWatch.for_make_parent)

    @property
    def logs_dir(self) -> Path:
        return self.settings.data_dir / local_stack.LOGS_DIR

    def say(self, message: str) -> None:
        print(message, file=self.out, flush=True)

    def check_parent(self) -> None:
        """Raise Shutdown when `make up`'s make got a SIGINT it does not pass on (parent_watch.py)."""
        if self.parent is not None and self.parent.interrupted():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)
            raise up_process.Shutdown("SIGINT (to make)")

    # --- start -----------------------------------------------------------------------------
    def start(self) -> None:
        from traceability.serving.auth import is_loopback

        s = self.settings
        if not is_loopback(s.host) and not env_str(API_TOKEN_ENV):
            raise StartupError(
                f"--host {s.host} would expose the collector and the API to the network without a token: "
                f"set {API_TOKEN_ENV} (clients then send 'Authorization: Bearer <token>'), or use 127.0.0.1"
            )
        for name, port in (("collector", s.collector_port), ("lineage API", s.api_port)):
            if not local_stack.port_is_free(s.host, port):
                flag = "--collector-port" if name == "collector" else "--api-port"
                raise StartupError(
                    f"port {port} on {s.host} is already in use, so the {name} cannot listen there: "
                    f"stop what uses it, or pass {flag} with another port"
                )
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        s.spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db_url = s.db_url or self._start_embedded_postgres()
        self._migrate()
        env = {
            **os.environ,
            DB_URL_ENV: self.db_url,
            SPOOL_DIR_ENV: str(s.spool_dir),
            "PYTHONUNBUFFERED": "1",
        }
        cli = [sys.executable, "-m", "traceability.cli.main"]
        self._spawn(
            "collector",
            [
                *cli,
                "collector",
                "--host",
                s.host,
                "--port",
                str(s.collector_port),
                "--spool-dir",
                str(s.spool_dir),
            ],
            env,
            local_stack.http_url(s.host, s.collector_port, local_stack.COLLECTOR_HEALTH_PATH),
        )
        self._spawn(
            "api",
            [*cli, "api", "--host", s.host, "--port", str(s.api_port)],
            env,
            local_stack.http_url(s.host, s.api_port, local_stack.API_HEALTH_PATH),
        )
        for child in self.children:
            self._wait_healthy(child)

    def _start_embedded_postgres(self) -> str:
        from traceability.exporter.devtools.embedded_pg import (
            EmbeddedPostgres,
            EmbeddedPostgresError,
            cluster_dir_for,
        )

        data_dir = self.settings.data_dir
        try:
            pg = EmbeddedPostgres(
                cluster_dir=cluster_dir_for(data_dir), port=local_stack.remembered_pg_port(data_dir) or 0
            )
            if pg.initialized() and pg.running():
                self.say(
                    "PostgreSQL was left running by an earlier `up` that did not stop cleanly; restarting it"
                )
                pg.stop()
            if not local_stack.port_is_free("127.0.0.1", pg.port):
                from traceability.exporter.devtools.embedded_pg import free_port

                pg.port = free_port()
            local_stack.remember_pg_port(data_dir, pg.port)
            first_run = not pg.initialized()
            self.say(
                f"starting PostgreSQL on 127.0.0.1:{pg.port}"
                + (f" (first run: creating a cluster in {pg.cluster_dir})" if first_run else "")
            )
            self.embedded = pg
            pg.start(timeout=self.settings.startup_timeout)
        except EmbeddedPostgresError as exc:
            raise StartupError(f"private PostgreSQL: {exc}") from exc
        import asyncio

        asyncio.run(_ensure_database(pg.dsn, local_stack.DATABASE_NAME))
        return local_stack.embedded_dsn(pg.port)

    def _migrate(self) -> None:
        from traceability.exporter.storage import database

        try:
            database.upgrade(self.db_url)
        except Exception as exc:
            raise StartupError(
                f"could not migrate {database.redact_dsn(self.db_url)}: {exc.__class__.__name__}: {exc}"
            ) from exc
        self.say(f"database {database.redact_dsn(self.db_url)} migrated to {database.head_revision()}")

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], health_url: str) -> None:
        log_path = self.logs_dir / f"{name}.log"
        with log_path.open("ab") as log:
            log.write(
                f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} traceability up: starting {name}\n".encode()
            )
            log.flush()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: stopped as a whole, spared the terminal's Ctrl-C
                preexec_fn=up_process.die_with_parent_hook(),  # no threads run at this point
            )
        self.children.append(up_process.Child(name, proc, log_path, health_url))

    def _wait_healthy(self, child: up_process.Child) -> None:
        deadline = time.monotonic() + self.settings.startup_timeout
        while time.monotonic() < deadline:
            code = child.proc.poll()
            if code is not None:
                raise StartupError(
                    f"the {child.name} exited with code {code} while starting; the end of {child.log_path}:\n"
                    f"{child.log_tail()}"
                )
            if up_process.answers(child.health_url):
                return
            self.check_parent()
            time.sleep(0.1)
        raise StartupError(
            f"the {child.name} did not answer {child.health_url} within {self.settings.startup_timeout:.0f} s; "
            f"the end of {child.log_path}:\n{child.log_tail()}"
        )

    # --- run -------------------------------------------------------------------------------
    def announce(self) -> None:
        s = self.settings
        from traceability.cli.command import user_command
        from traceability.exporter.storage.database import redact_dsn

        run = user_command()

        collector = local_stack.http_url(s.host, s.collector_port)
        api = local_stack.http_url(s.host, s.api_port)
        where = (
            f"private cluster, data in {self.embedded.cluster_dir}"
            if self.embedded
            else "from TRACEABILITY_DB_URL"
        )
        self.say(
            "\ntraceability is up\n"
            f"  web UI        {api}/  (sessions, turns, code changes, patterns, overview)\n"
            f"  PostgreSQL    {redact_dsn(self.db_url)}  ({where})\n"
            f"  collector     {collector}/v1/traces  (OTLP/HTTP; health {collector}{local_stack.COLLECTOR_HEALTH_PATH})\n"
            f"  lineage API   {api}{local_stack.API_PREFIX}  (OpenAPI docs {api}/docs)\n"
            f"  spool         {s.spool_dir}  (the hooks write here; the collector drains it)\n"
            f"  logs          {self.logs_dir}\n"
            "\n"
            f"Install the Claude Code hooks once:  {run} hooks install --user --telemetry\n"
            f"See it with synthetic sessions:      {run} demo\n"
            f"Check every piece:                   {run} doctor\n"
            "Press Ctrl-C to stop (the data is kept).\n"
        )
        local_stack.write_state(
            s.data_dir,
            StackState(
                pid=os.getpid(),
                db_url=self.db_url,
                embedded_postgres=self.embedded is not None,
                collector_url=collector,
                api_url=api,
                spool_dir=str(s.spool_dir),
                logs_dir=str(self.logs_dir),
            ),
        )

    def supervise(self) -> int:
        """Block until a signal (raises Shutdown) or until a child dies (returns 1)."""
        while True:
            for child in self.children:
                code = child.proc.poll()
                if code is not None:
                    self.say(
                        f"the {child.name} stopped unexpectedly (exit code {code}); stopping everything. "
                        f"The end of {child.log_path}:\n{child.log_tail()}"
                    )
                    return 1
            self.check_parent()
            time.sleep(0.5)

    # --- stop ------------------------------------------------------------------------------
    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        self.children.clear()
        if self.embedded is not None:
            self.say("stopping PostgreSQL (data kept)")
            self.embedded.stop()
            self.embedded = None
        local_stack.clear_state(self.settings.data_dir)


async def _ensure_database(admin_dsn: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def run(args: argparse.Namespace) -> int:
    settings = UpSettings.from_args(args)
    with up_process.exclusive(settings.data_dir) as ours:
        if not ours:
            state = local_stack.read_state(settings.data_dir)
            who = f" (pid {state.pid})" if state else ""
            print(
                f"traceability up: another `traceability up`{who} already runs with data dir {settings.data_dir}",
                file=sys.stderr,
            )
            return 1
        stack = LocalStack(settings)
        with up_process.signals_raise_shutdown():
            try:
                stack.start()
                stack.announce()
                return stack.supervise()
            except up_process.Shutdown as signal_name:
                stack.say(f"\n{signal_name} received: stopping")
                return 0
            except StartupError as exc:
                print(f"traceability up: {exc}", file=sys.stderr)
                return 1
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):  # let the cleanup run to its end
                    signal.signal(sig, signal.SIG_IGN)
                stack.stop()
