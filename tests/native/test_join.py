"""The join of Claude Code's own telemetry to the hook turn, replayed in several orders through the real collector.

Hook payloads go through the real hook process (its spool files are drained by the collector);
the recorded OTLP bodies are POSTed as Claude Code sent them. Every order gives the same rows,
field by field, and a replay changes nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.collector import Collector, start_collector, stop_collector, wait_until
from tests.support.db import fetch
from tests.support.hooks import HookEnv
from tests.support.native import drained, native_trace_id, place_in_spool, post
from tests.support.native_recorded import ENCODINGS, OtlpBody, hook_payloads, otlp_bodies

TABLES = (
    "execution_traces", "hook_executions", "claude_code_events", "claude_code_metric_points",
    "claude_code_spans", "claude_code_trace_links",
)  # fmt: skip
VOLATILE = frozenset({"created_at", "updated_at", "ingest_xid"})  # ingest_xid: the storing transaction


def snapshot(dsn: str) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [
            {k: v for k, v in row.items() if k not in VOLATILE}
            for row in fetch(dsn, f"SELECT * FROM {table} ORDER BY id::text")
        ]
        for table in (
            "execution_traces",
            "hook_executions",
            "claude_code_events",
            "claude_code_metric_points",
            "claude_code_spans",
        )
    } | {
        "claude_code_trace_links": fetch(
            dsn, "SELECT native_trace_id, prompt_id, session_id FROM claude_code_trace_links"
        )
    }


class Replay:
    """One order: hook spool files and OTLP bodies fed to collectors that may be restarted in between."""

    def __init__(self, dsn: str, root: Path, hook_files: list[Path], bodies: list[OtlpBody]) -> None:
        self.dsn, self.root = dsn, root
        self.hook_files, self.bodies = hook_files, {b.name: b for b in bodies}
        self.spool = root / "spool"
        self.spool.mkdir(parents=True)
        self.collector = self._start()

    def _start(self) -> Collector:
        return start_collector(self.dsn, self.spool, self.root / "collector.log")

    def hooks(self, part: slice = slice(None)) -> None:
        for path in self.hook_files[part]:
            place_in_spool(path, self.spool)
        wait_until(lambda: drained(self.collector), what="hook spool drained")

    def native(self, *names: str) -> None:
        for name in names or tuple(self.bodies):
            post(self.collector, self.bodies[name])

    def restart(self) -> None:
        stop_collector(self.collector)
        self.collector = self._start()

    def close(self) -> None:
        stop_collector(self.collector)


def _native_first(r: Replay) -> None:
    r.native()
    r.hooks()


def _hooks_first(r: Replay) -> None:
    r.hooks()
    r.native()


def _split_across_restart(r: Replay) -> None:
    half = len(r.hook_files) // 2
    r.native("02-logs")
    r.hooks(slice(half, None))  # the turn's later hooks (and its root) first
    r.restart()
    r.native("03-traces", "05-metrics")
    r.hooks(slice(None, half))
    r.restart()
    r.native("04-logs", "01-metrics")


ORDERS: dict[str, Callable[[Replay], None]] = {
    "native first": _native_first,
    "hooks first": _hooks_first,
    "split across restarts": _split_across_restart,
}


def truncate(dsn: str) -> None:
    fetch(dsn, f"TRUNCATE {', '.join(TABLES)} CASCADE")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_order_gives_the_same_merged_rows(db_dsn: str, tmp_path: Path, encoding: str) -> None:
    payloads = hook_payloads(encoding)
    hook = HookEnv(tmp_path / "hook")
    hook.replay(payloads)
    hook_files = sorted(hook.spool.glob("*.json"))
    bodies = otlp_bodies(encoding)

    snapshots = {}
    for label, order in ORDERS.items():
        truncate(db_dsn)
        replay = Replay(db_dsn, tmp_path / label.replace(" ", "-"), hook_files, bodies)
        try:
            order(replay)
            snapshots[label] = snapshot(db_dsn)
            replay.native()  # a replay of everything changes nothing
            shutil.rmtree(replay.spool)
            replay.spool.mkdir()
            replay.hooks()
            assert snapshot(db_dsn) == snapshots[label], f"replay after {label} changed rows"
        finally:
            replay.close()
    reference = snapshots["native first"]
    for label, rows in snapshots.items():
        for table in reference:
            assert rows[table] == reference[table], f"{label}: {table} differs"

    prompt = next(p["prompt_id"] for p in payloads if p.get("prompt_id"))
    native_trace = native_trace_id(bodies)
    turns = [t for t in reference["execution_traces"] if t["prompt_id"] == prompt]
    assert len(turns) == 1, "one turn per prompt"
    assert turns[0]["native_trace_id"] == native_trace and turns[0]["root_received"] is True
    assert all(t["id"] != native_trace for t in reference["execution_traces"]), "no second trace row"
    assert not [h for h in reference["hook_executions"] if h["span_name"].startswith("claude_code.")]
    spans = reference["claude_code_spans"]
    assert {s["trace_id"] for s in spans} == {native_trace}
    assert sum(s["span_type"] == "interaction" for s in spans) == 1
    hook_tools = {h["tool_use_id"] for h in reference["hook_executions"] if h["span_type"] == "tool"}
    native_tools = {s["tool_use_id"] for s in spans if s["span_type"] == "tool"}
    assert native_tools == hook_tools and len(native_tools) == 3
    failed = [s for s in spans if s["span_type"] == "tool.execution" and s["status_code"] == "ERROR"]
    assert len(failed) == 1 and failed[0]["success"] is False
