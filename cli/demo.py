"""`traceability demo`: fill the system with realistic synthetic Claude Code sessions.

Every event goes through the real hook path: the hook command runs once per event with the event
JSON on stdin (as Claude Code runs it) and writes spans to the spool; the collector drains the
spool into PostgreSQL and the lineage API's deriver turns the written code into patterns. Each
hook run gets its event's time as "now" (TRACEABILITY_HOOK_NOW_NS), so the sessions spread over
days while durations stay real. The files
the sessions write and edit are really written, under the data dir's ``demo/`` folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from traceability.cli import demo_verdict, local_stack
from traceability.cli.command import user_command
from traceability.cli.demo_sessions import Event, Session, plan_sessions
from traceability.instrumentation.env import (
    CAPTURE_PROMPTS_ENV,
    ENFORCEMENT_ENABLED_ENV,
    ENFORCEMENT_MODE_ENV,
    HOOK_NOW_NS_ENV,  # read by hooks/main.py: "now" for one hook run
    SPOOL_DIR_ENV,
)

DRAIN_TIMEOUT_S = 180.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="fill the system with realistic synthetic sessions, through the real hook",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sessions", type=int, default=24, help="how many sessions (default: 24)")
    parser.add_argument("--days", type=int, default=14, help="spread them over the last N days (default: 14)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same sessions)")
    parser.add_argument(
        "--jobs", type=int, default=3, help="sessions run in parallel, one per project (default: 3)"
    )
    parser.add_argument(
        "--spool-dir", help="spool the hook writes to (default: TRACEABILITY_SPOOL_DIR, else `up`'s)"
    )
    parser.add_argument("--data-dir", help="`up`'s data dir (default: TRACEABILITY_DATA_DIR)")
    parser.add_argument(
        "--no-wait", action="store_true", help="do not wait for the collector to drain the spool"
    )
    parser.add_argument(
        "--enforcement",
        choices=("warn", "block", "off"),
        default="warn",
        help="run the quality enforcer on the demo's writes and edits (default: warn, so quality scores show)",
    )
    parser.add_argument(
        "--now",
        type=_parse_now,
        help="the sessions end before this ISO 8601 time (default: now); fixes the clock for tests",
    )
    parser.add_argument(
        "--hook-command",
        help="the hook command to run per event (default: the one `traceability hooks install` writes)",
    )
    parser.set_defaults(func=run)


def _parse_now(text: str) -> datetime:
    """An ISO 8601 time; one without a zone is UTC (never the machine's zone)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, label: str, out: IO[str] | None = None, width: int = 30) -> None:
        self.total, self.label, self.width = max(total, 1), label, width
        self.out = out or sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last_draw = 0.0

    def advance(self, n: int = 1, note: str = "") -> None:
        with self._lock:
            self.done += n
            now = time.monotonic()
            if now - self._last_draw >= 0.1 or self.done >= self.total:
                self._last_draw = now
                self._draw(note)

    def set(self, done: int, note: str = "") -> None:
        with self._lock:
            self.done = done
            self._draw(note)

    def _draw(self, note: str) -> None:
        filled = int(self.width * min(self.done, self.total) / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.monotonic() - self.started
        self.out.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {note}  {elapsed:5.1f} s ")
        self.out.flush()

    def finish(self) -> None:
        self.out.write("\n")
        self.out.flush()


class HookRunner:
    """Runs the hook once per event, as Claude Code does, and counts what happened."""

    def __init__(self, command: list[str], env: dict[str, str], progress: Progress) -> None:
        self.command = command
        self.env = env
        self.progress = progress
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def run_sessions(self, sessions: list[Session]) -> None:
        for session in sessions:
            self.run_session(session)

    def run_session(self, session: Session) -> None:
        denied: set[str] = set()
        for event in session.events:
            tool_use_id = event.payload.get("tool_use_id")
            if tool_use_id in denied:  # Claude Code does not run a denied tool: no Post event
                self.progress.advance()
                continue
            if event.write_path is not None and event.write_content is not None:
                event.write_path.parent.mkdir(parents=True, exist_ok=True)
                event.write_path.write_text(event.write_content)
            output = self._call(event)
            if event.pre_of and _denied(output):
                denied.add(event.pre_of)
                self._count("denied by the quality enforcer")
            self.progress.advance()

    def _call(self, event: Event) -> str:
        env = dict(self.env)
        env[HOOK_NOW_NS_ENV] = str(int(event.at.timestamp() * 1e9))
        result = subprocess.run(
            self.command,
            input=json.dumps(event.payload).encode(),
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        name = event.payload["hook_event_name"]
        self._count("events")
        if name == "UserPromptSubmit":
            self._count("turns")
        if name.startswith("PostToolUse"):
            self._count("tool calls")
        if name == "PostToolUseFailure":
            self._count("failed tool calls")
        if result.returncode not in (0, 2):  # 2 is a deliberate block
            with self._lock:
                self.errors.append(
                    f"{name}: exit {result.returncode}: {result.stderr.decode(errors='replace')[-500:]}"
                )
        return result.stdout.decode(errors="replace")

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1


def _denied(hook_stdout: str) -> bool:
    try:
        output = json.loads(hook_stdout) if hook_stdout.strip().startswith("{") else {}
    except ValueError:
        return False
    return bool(output.get("hookSpecificOutput", {}).get("permissionDecision") == "deny")


def run(args: argparse.Namespace) -> int:
    from traceability.hooks.install import entry_script
    from traceability.instrumentation.spool import resolve_spool_dir

    data_dir = local_stack.resolve_data_dir(args.data_dir)
    state = local_stack.read_state(data_dir)
    spool_dir = Path(
        args.spool_dir
        or (state.spool_dir if state and not os.environ.get(SPOOL_DIR_ENV) else resolve_spool_dir())
    )
    spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    workspace = data_dir / "demo"
    now = args.now or datetime.now(UTC)
    sessions = plan_sessions(
        workspace=workspace,
        home=Path(os.path.expanduser("~")),
        sessions=args.sessions,
        days=args.days,
        now=now,
        seed=args.seed,
    )
    total = sum(len(s.events) for s in sessions)
    # the installed fast entry; TRACEABILITY_HOOK_NOW_NS sets each run's clock to its event's time
    demo_entry = [sys.executable, "-I", "-S", str(entry_script())]
    command = shlex.split(args.hook_command) if args.hook_command else demo_entry
    print(
        f"demo: {len(sessions)} sessions in {len({s.project for s in sessions})} projects over {args.days} days, "
        f"{total} hook events, "
        f"through `{' '.join(command)}` into {spool_dir}\n(the files they write land in {workspace})",
        flush=True,
    )
    progress = Progress(total, "hooks   ")
    env = {**os.environ, SPOOL_DIR_ENV: str(spool_dir)}
    env.update(_enforcement_env(args.enforcement))
    # the prompts are synthetic: keep them (unless told not to), so `traces list --search` finds turns
    env.setdefault(CAPTURE_PROMPTS_ENV, "1")
    runner = HookRunner(command, env, progress)
    by_project: dict[str, list[Session]] = {}
    for session in sessions:
        by_project.setdefault(session.project, []).append(session)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        # sessions of one project run one after the other: they edit the same files
        list(pool.map(runner.run_sessions, by_project.values()))
    progress.finish()
    if runner.errors:
        print(
            f"demo: the hook failed {len(runner.errors)} time(s); the first:\n{runner.errors[0]}",
            file=sys.stderr,
        )
        return 1
    counts = runner.counts
    print(
        f"sent {counts['events']} events: {counts['turns']} turns, {counts['tool calls']} tool calls "
        f"({counts['failed tool calls']} failed, {counts['denied by the quality enforcer']} denied by the quality enforcer)"
    )
    if args.no_wait:
        return 0
    collector_url = (
        state.collector_url
        if state
        else local_stack.http_url(local_stack.DEFAULT_HOST, local_stack.DEFAULT_COLLECTOR_PORT)
    )
    if not _get_json(collector_url + local_stack.COLLECTOR_HEALTH_PATH, allow_non_json=True):
        left = _waiting(spool_dir)
        print(
            f"the collector is not running at {collector_url}: {left} spool file(s) wait in {spool_dir}. "
            f"Start `{user_command()} up` and they are drained into the database."
        )
        return 0
    if not _wait_drained(spool_dir):
        print(
            f"the collector has not drained {spool_dir} after {DRAIN_TIMEOUT_S:.0f} s; see `{user_command()} doctor`"
        )
        return 1
    api_url = (
        state.api_url
        if state
        else local_stack.http_url(local_stack.DEFAULT_HOST, local_stack.DEFAULT_API_PORT)
    )
    stats = _wait_derived(api_url + local_stack.API_PREFIX + "/stats")
    if stats:
        print("lineage API stats: " + json.dumps(stats, default=str))
    print("\n".join(demo_verdict.verdict(api_url + local_stack.API_PREFIX, workspace, now)))
    print(
        f"\nLook at it:\n  {api_url}/   (web UI: sessions, turns, code changes, patterns, overview)\n"
        f"  {api_url}{local_stack.API_PREFIX}/stats\n  {api_url}{local_stack.API_PREFIX}/patterns\n"
        f"  {api_url}/docs   (every route)\n"
        "  Grafana and Jaeger: `docker compose up -d` (see the README)"
    )
    return 0


def _enforcement_env(mode: str) -> dict[str, str]:
    if mode == "off":
        return {ENFORCEMENT_ENABLED_ENV: "0"}
    return {ENFORCEMENT_ENABLED_ENV: "1", ENFORCEMENT_MODE_ENV: mode}


def _waiting(spool_dir: Path) -> int:
    from traceability.instrumentation.spool import is_ready_spool_file

    return sum(1 for e in os.scandir(spool_dir) if is_ready_spool_file(e.name))


def _wait_drained(spool_dir: Path) -> bool:
    first = _waiting(spool_dir)
    progress = Progress(first, "collector")
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        left = _waiting(spool_dir)
        progress.set(first - left, "spool files drained")
        if left == 0:
            progress.finish()
            return True
        time.sleep(0.3)
    progress.finish()
    return False


def _wait_derived(stats_url: str, settle_s: float = 2.0, timeout_s: float = 60.0) -> Any:
    """GET stats until the deriver has caught up (the counts stop changing for ``settle_s``)."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        answer = _get_json(stats_url)
        if answer is None:
            return None
        stats = answer.get("data", answer)  # metadata (timings) changes on every call
        if stats != last:
            last, since = stats, time.monotonic()
        elif time.monotonic() - since >= settle_s:
            break
        time.sleep(0.5)
    return last


def _get_json(url: str, *, allow_non_json: bool = False) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            raw = response.read()
    except (urllib.error.URLError, OSError):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"raw": raw.decode(errors="replace")} if allow_non_json else None
