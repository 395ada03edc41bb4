"""`traceability demo`: its sessions look like real Claude Code hook input, and they go through
the real hook into the spool with their timestamps spread over days."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.postgres import FIXTURES_DIR
from traceability.cli import demo_code, demo_experiment, demo_sessions

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _fixture_shapes() -> dict[str, dict[str, set[type]]]:
    """For each event name: every key the captured payloads carry, with the JSON types seen."""
    shapes: dict[str, dict[str, set[type]]] = defaultdict(lambda: defaultdict(set))
    payloads = [json.loads(p.read_text()) for p in FIXTURES_DIR.glob("*__*.json")]
    for seq in (FIXTURES_DIR / "sequences").glob("*.jsonl"):
        payloads += [json.loads(line) for line in seq.read_text().splitlines()]
    for payload in payloads:
        for key, value in payload.items():
            shapes[payload["hook_event_name"]][key].add(type(value))
    return shapes


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> list[demo_sessions.Session]:
    workspace = tmp_path_factory.mktemp("ws")
    return demo_sessions.plan_sessions(
        workspace=workspace, home=Path("/home/dev"), sessions=24, days=14, now=NOW
    )


def test_payloads_have_the_shape_of_captured_ones(planned: list[demo_sessions.Session]) -> None:
    shapes = _fixture_shapes()
    for session in planned:
        for event in session.events:
            name = event.payload["hook_event_name"]
            for key, value in event.payload.items():
                assert key in shapes[name], f"{name} never carries {key!r} in the captures"
                assert type(value) in shapes[name][key], (
                    f"{name}.{key} is {type(value)}, captured {shapes[name][key]}"
                )
            if name in ("PreToolUse", "PostToolUse", "PostToolUseFailure", "UserPromptSubmit", "Stop"):
                assert event.payload["prompt_id"] and event.payload["session_id"] == session.session_id
            if name in ("PostToolUse", "PostToolUseFailure"):
                assert isinstance(event.payload["duration_ms"], int) and event.payload["duration_ms"] >= 0
                assert (
                    event.payload["tool_use_id"].startswith("toolu_01")
                    and len(event.payload["tool_use_id"]) == 30
                )


def test_sessions_tell_a_story(planned: list[demo_sessions.Session]) -> None:
    events = [e for s in planned for e in s.events]
    # each session in time order, Pre before Post of the same tool use
    for session in planned:
        times = [e.at for e in session.events]
        assert times == sorted(times)
        pre: dict[str, datetime] = {}
        for e in session.events:
            if e.payload["hook_event_name"] == "PreToolUse":
                pre[e.payload["tool_use_id"]] = e.at
            elif e.payload["hook_event_name"].startswith("PostToolUse"):
                assert pre[e.payload["tool_use_id"]] < e.at
    days = {e.at.date() for e in events}
    assert (
        len(days) >= 10
        and max(e.at for e in events) <= NOW
        and min(e.at for e in events) >= NOW - timedelta(days=15)
    )
    assert {s.project for s in planned} == set(demo_code.FUNCTIONS) | {demo_experiment.PROJECT}
    failures = [e for e in events if e.payload["hook_event_name"] == "PostToolUseFailure"]
    assert {e.payload["tool_name"] for e in failures} == {"Bash", "Read"}
    # the same functions are edited to new versions on different days
    edits = [
        e
        for e in events
        if e.payload["hook_event_name"] == "PostToolUse" and e.payload["tool_name"] == "Edit"
    ]
    changed = [
        e for e in edits if e.payload["tool_input"]["old_string"] != e.payload["tool_input"]["new_string"]
    ]
    assert len(changed) == len(edits) and len(edits) >= 10
    by_file: dict[str, set[date]] = defaultdict(set)
    for e in edits:
        assert e.payload["tool_input"]["old_string"] in e.payload["tool_response"]["originalFile"]
        assert e.write_content is not None and e.payload["tool_input"]["new_string"] in e.write_content
        by_file[e.payload["tool_input"]["file_path"]].add(e.at.date())
    assert max(len(d) for d in by_file.values()) >= 3


def _run_demo(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], list[Any]]:
    """A small demo through the installed-form hook (`python -I -S hooks/fast_entry.py`); its spans."""
    from traceability.exporter.codec.traces import decode_json_object

    home = tmp_path / "home"
    home.mkdir()
    spool = tmp_path / "spool"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEABILITY_", "XDG_"))}
    env["HOME"] = str(home)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "traceability.cli.main",
            "demo",
            "--sessions",
            "3",
            "--days",
            "6",
            "--spool-dir",
            str(spool),
            "--no-wait",
            "--now",
            NOW.isoformat(),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    spans: list[Any] = []
    for path in spool.glob("*.json"):
        for line in path.read_bytes().splitlines():
            spans.extend(decode_json_object(json.loads(line)).spans)
    return result, spans


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], list[Any]]:
    return _run_demo(tmp_path_factory.mktemp("demo"))


def test_demo_runs_the_real_hook_into_the_spool(
    demo_run: tuple[subprocess.CompletedProcess[str], list[Any]],
) -> None:
    from traceability.instrumentation import semconv

    result, spans = demo_run
    assert "hooks    [" in result.stderr and "] " in result.stderr  # the progress bar
    planned = demo_sessions.plan_sessions(workspace=Path("/x"), home=Path("/y"), sessions=3, days=6, now=NOW)
    tool_ids = {e.payload["tool_use_id"] for s in planned for e in s.events if "tool_use_id" in e.payload}
    spooled = {s.attributes.get(semconv.GEN_AI_TOOL_CALL_ID) for s in spans} - {None}
    assert spooled == tool_ids  # the same seed plans the same sessions: every tool use became a span
    turns = [s for s in spans if s.attributes.get(semconv.SPAN_TYPE) == semconv.SPAN_TYPE_TURN]
    assert len(turns) == sum(
        1 for s in planned for e in s.events if e.payload["hook_event_name"] == "UserPromptSubmit"
    )
    failed = [
        s
        for s in spans
        if s.attributes.get(semconv.SPAN_TYPE) == semconv.SPAN_TYPE_TOOL
        and s.attributes.get(semconv.SUCCESS) is False
    ]
    assert failed, "the demo's failing tests and missing reads must show as failed tool spans"
    assert "sent " in result.stdout and " turns, " in result.stdout
    # --enforcement warn (the default): the quality enforcer scored the demo's writes and edits
    scored = [s for s in spans if semconv.QUALITY_SCORE in s.attributes]
    assert scored and all(0 <= s.attributes[semconv.QUALITY_SCORE] <= 1 for s in scored)


def test_demo_spans_spread_over_days(demo_run: tuple[subprocess.CompletedProcess[str], list[Any]]) -> None:
    """The hook ran at each event's time (TRACEABILITY_HOOK_NOW_NS), so spans spread over the demo's days."""
    from traceability.instrumentation import semconv

    _, spans = demo_run
    days = {datetime.fromtimestamp(s.start_time_unix_nano / 1e9, UTC).date() for s in spans}
    assert len(days) >= 3
    assert all(
        NOW - timedelta(days=7) <= datetime.fromtimestamp(s.start_time_unix_nano / 1e9, UTC) <= NOW
        for s in spans
    )
    # durations are real: a tool span lasts what Claude Code said (duration_ms), not days
    tools = [s for s in spans if s.attributes.get(semconv.SPAN_TYPE) == semconv.SPAN_TYPE_TOOL]
    assert all(0 <= (s.end_time_unix_nano - s.start_time_unix_nano) / 1e9 < 600 for s in tools)


def _experiment_samples(sessions: list[demo_sessions.Session]) -> dict[str, list[int]]:
    """Claude Code's duration_ms of every write of the experiment's helper, by version written."""
    samples: dict[str, list[int]] = {"v1": [], "v2": []}
    for session in sessions:
        if session.project != demo_experiment.PROJECT:
            continue
        for e in session.events:
            if e.payload["hook_event_name"] != "PostToolUse" or e.write_content is None:
                continue
            assert (
                demo_experiment.VERSIONS[0] in e.write_content
                or demo_experiment.VERSIONS[1] in e.write_content
            )
            samples["v2" if demo_experiment.VERSIONS[1] in e.write_content else "v1"].append(
                e.payload["duration_ms"]
            )
    return samples


@pytest.mark.parametrize(("sessions", "days"), [(24, 14), (3, 6), (1, 1)])
def test_demo_plans_an_ab_experiment_the_feedback_loop_can_judge(
    tmp_path: Path, sessions: int, days: int
) -> None:
    """Two versions of one helper, each written at least 30 times (the feedback loop's minimum) within
    its default 7-day window, version 2's writes faster (Welch's t-test on the planned durations)."""
    from scipy import stats

    planned = demo_sessions.plan_sessions(
        workspace=tmp_path, home=Path("/h"), sessions=sessions, days=days, now=NOW
    )
    experiment = [s for s in planned if s.project == demo_experiment.PROJECT]
    events = [e for s in experiment for e in s.events]
    assert all(NOW - timedelta(days=min(days, 7)) <= e.at < NOW for e in events)
    writes = [e for e in events if e.payload["hook_event_name"] == "PostToolUse" and e.write_content]
    home = str(tmp_path / demo_experiment.PROJECT / demo_experiment.HOME_MODULE)
    # the helper is written at home, then edited there into version 2, before any copy is vendored
    assert [e.payload["tool_name"] for e in writes[:2]] == ["Write", "Edit"]
    assert {e.payload["tool_input"]["file_path"] for e in writes[:2]} == {home}
    copies = [e.payload["tool_input"]["file_path"] for e in writes[2:]]
    assert len(copies) == len(set(copies)) and home not in copies
    samples = _experiment_samples(planned)
    assert min(len(samples["v1"]), len(samples["v2"])) >= 30
    test = stats.ttest_ind(samples["v2"], samples["v1"], equal_var=False)
    assert test.pvalue < 1e-4 and test.statistic < 0  # faster, and clearly so


def test_demo_ends_with_the_feedback_loops_verdict(home: Path) -> None:
    """`up`, then `demo`: the experiment's pattern goes hook -> spool -> collector -> deriver, and the
    demo prints feedback/analyze's verdict: Welch's test with the p-value scipy gives on the
    durations the demo planned (the same seed plans the same durations), and the winner."""
    import re

    from scipy import stats

    from tests.support.up_stack import start_up, stop_and_check_nothing_left
    from traceability.exporter.devtools.embedded_pg import cluster_dir_for

    running = start_up(home, "demo")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "traceability.cli.main", "demo", "--sessions", "1", "--days", "6"],
            env=running.env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        stop_and_check_nothing_left(running, cluster_dir_for(home / ".local" / "share" / "traceability"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hooks    [" in result.stderr  # the progress bar
    ui = [line.split()[0] for line in result.stdout.splitlines() if "(web UI:" in line]
    assert ui == [f"{running.api}/"], result.stdout  # the demo points at the web UI it fed
    samples = _experiment_samples(
        demo_sessions.plan_sessions(workspace=home, home=home, sessions=1, days=6, now=NOW)
    )
    lines = result.stdout.splitlines()
    (head,) = [i for i, line in enumerate(lines) if line.startswith("feedback loop on fetch_json")]
    match = re.fullmatch(
        r"feedback loop on fetch_json \((\w+)\): version (\S+) \((\d+) executions, mean (\d+) ms\) "
        r"against (\S+) \((\d+) executions, mean (\d+) ms\)",
        lines[head],
    )
    assert match, lines[head]
    _, control, n1, mean1, treatment, n2, mean2 = match.groups()
    assert (int(n1), int(n2)) == (len(samples["v1"]), len(samples["v2"]))
    assert (int(mean1), int(mean2)) == (round(np.mean(samples["v1"])), round(np.mean(samples["v2"])))
    p = stats.ttest_ind(samples["v2"], samples["v1"], equal_var=False).pvalue
    effect = (np.mean(samples["v1"]) - np.mean(samples["v2"])) / np.mean(samples["v1"])
    assert lines[head + 1] == f"  execution_time: welch_t_test, p = {p:.3g}, {effect:+.1%} -> validated"
    assert lines[head + 2].startswith(f"  winner: version {treatment} (confidence ")
    assert control != treatment
