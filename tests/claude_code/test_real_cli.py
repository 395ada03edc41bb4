"""The real Claude Code CLI (npm @anthropic-ai/claude-code, pinned; `make test` installs it into .claude-code/)
run with `claude -p` against a scripted Messages API on loopback, with our hooks and its own telemetry
pointed at a collector this test starts. The merged turns must show exactly what the script answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.collector import running_collector, wait_until
from tests.support.db import fetch
from tests.support.messages_api import ScriptedApi, Step, serve

REPO = Path(__file__).resolve().parents[2]
# the version the Makefile pins and installs
CLAUDE_CODE_VERSION = re.search(
    r"^CLAUDE_CODE_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.M
).group(1)  # type: ignore[union-attr]
CLAUDE = Path(
    os.environ.get("TRACEABILITY_CLAUDE_BIN") or REPO / ".claude-code" / "node_modules" / ".bin" / "claude"
)

# Under CI=true a missing CLI is a failure (the test runs and finds no binary), never a skip.
pytestmark = pytest.mark.skipif(
    not CLAUDE.exists() and os.environ.get("CI", "").lower() not in ("1", "true", "yes"),
    reason=f"Claude Code CLI not installed at {CLAUDE}: run `make claude-code` (make test does)",
)


def _usage(i: int) -> dict[str, int]:
    return {"input_tokens": 100 + i, "output_tokens": 10 + i, "cache_read_input_tokens": 7 * i,
            "cache_creation_input_tokens": 3 * i}  # fmt: skip


def scripts(project: Path) -> dict[str, list[Step]]:
    code = "def slug(text):\n    return '-'.join(text.lower().split())\n"
    return {
        "first": [
            Step(
                tool="Write",
                tool_input={"file_path": str(project / "slug.py"), "content": code},
                usage=_usage(1),
            ),
            Step(tool="Read", tool_input={"file_path": str(project / "missing.txt")}, usage=_usage(2)),
            Step(text="Wrote slug.py; missing.txt does not exist.", usage=_usage(3)),
        ],
        "resumed": [
            Step(tool="Bash", tool_input={"command": "echo resumed", "description": "Echo"}, usage=_usage(4)),
            Step(text="Done.", usage=_usage(5)),
        ],
    }


def claude_env(home: Path, api_url: str, spool: Path, root: Path) -> dict[str, str]:
    return {
        "HOME": str(home), "PATH": "/usr/bin:/bin", "ANTHROPIC_BASE_URL": api_url,
        "ANTHROPIC_API_KEY": "test-key-not-a-secret", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1", "OTEL_METRIC_EXPORT_INTERVAL": "1000", "OTEL_LOGS_EXPORT_INTERVAL": "1000",
        "OTEL_TRACES_EXPORT_INTERVAL": "1000", "OTEL_LOG_TOOL_DETAILS": "1",
        "TRACEABILITY_SPOOL_DIR": str(spool), "TRACEABILITY_STATE_DIR": str(root / "state"),
        "TRACEABILITY_HOOK_LOG_DIR": str(root / "logs"), "TRACEABILITY_HOOK_CONFIG": str(root / "none.yaml"),
    }  # fmt: skip


def run_claude(prompt: str, env: dict[str, str], cwd: Path, *extra: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(CLAUDE), "-p", prompt, "--permission-mode", "acceptEdits", "--allowedTools", "Write,Edit,Bash,Read",
         "--output-format", "stream-json", "--verbose", *extra],
        env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_cli_version_is_the_pinned_one() -> None:
    out = subprocess.run([str(CLAUDE), "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split()[0] == CLAUDE_CODE_VERSION


async def test_real_claude_code_turns_are_merged_with_its_own_telemetry(
    db_dsn: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    api = ScriptedApi(scripts(project))
    session_id, metric_cost = await asyncio.to_thread(run_session, db_dsn, tmp_path, api)
    await _check_api(client, session_id, api, metric_cost)


def run_session(db_dsn: str, tmp_path: Path, api: ScriptedApi) -> tuple[str, float]:
    """Two `claude -p` runs (the second resumes the first); returns the session id and the metrics' cost."""
    home, project = tmp_path / "home", tmp_path / "project"
    with running_collector(db_dsn, tmp_path) as collector, serve(api) as api_url:
        settings = home / ".claude" / "settings.json"
        install = subprocess.run(
            [sys.executable, "-m", "traceability.cli.main", "hooks", "install", "--settings", str(settings),
             "--telemetry", "--endpoint", collector.url],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert install.returncode == 0, install.stderr
        env = claude_env(home, api_url, collector.spool_dir, tmp_path)
        first = run_claude("[[script:first]] write a slug helper, then read missing.txt", env, project)
        session_id = next(m["session_id"] for m in first if m.get("type") == "system")
        run_claude("[[script:resumed]] now echo something", env, project, "--resume", session_id)
        assert api.unexpected == [] and len(api.answered) == 5

        def arrived() -> bool:
            turns = fetch(db_dsn, "SELECT native_trace_id FROM execution_traces WHERE prompt_id IS NOT NULL")
            requests = fetch(db_dsn, "SELECT 1 FROM claude_code_events WHERE event_name = 'api_request'")
            return len(turns) == 2 and all(t["native_trace_id"] for t in turns) and len(requests) == 5

        wait_until(arrived, timeout=60, what="both turns joined to Claude Code's telemetry")
        wait_until(lambda: collector.health()["spool_pending_files"] == 0, what="spool drained")
    points = fetch(
        db_dsn, "SELECT value FROM claude_code_metric_points WHERE metric_name = 'claude_code.cost.usage'"
    )
    return session_id, sum(p["value"] for p in points)


async def _check_api(
    client: httpx.AsyncClient, session_id: str, api: ScriptedApi, metric_cost: float
) -> None:
    found = (await client.get(f"/sessions/{session_id}")).json()["data"]
    turns = found["turns"]
    assert [t["origin"] for t in turns] == ["hooks", "hooks"], (
        "one turn per prompt, the resumed one in the same session"
    )
    for turn, script in zip(turns, ("first", "resumed"), strict=True):
        answered = [a for a in api.answered if a.script == script]
        totals = turn["totals"]
        assert totals["llm_calls"] == len(answered)
        assert totals["input_tokens"] == sum(a.usage["input_tokens"] for a in answered)
        assert totals["output_tokens"] == sum(a.usage["output_tokens"] for a in answered)
        assert totals["cache_read_tokens"] == sum(a.usage["cache_read_input_tokens"] for a in answered)
        assert totals["cache_creation_tokens"] == sum(
            a.usage["cache_creation_input_tokens"] for a in answered
        )
        assert turn["native_trace_id"] is not None
    assert found["totals"]["cost_usd"] > 0
    assert found["totals"]["cost_usd"] == pytest.approx(metric_cost)  # events and metrics agree

    data = (await client.get(f"/traces/{turns[0]['turn_id']}", params={"detail": "full"})).json()["data"]
    hook_tools = {h["tool_use_id"]: h for h in data["hook_executions"] if h["span_type"] == "tool"}
    first_ids = {a.tool_use_id for a in api.answered if a.script == "first" and a.tool_use_id}
    assert set(hook_tools) == first_ids
    native = [
        t for t in data["timeline"] if t["origin"] == "native" and t["name"].startswith("claude_code.tool")
    ]
    assert {t["tool_use_id"] for t in native} == first_ids
    assert all(t["joined_span_id"] == hook_tools[t["tool_use_id"]]["span_id"] for t in native)
    read = next(h for h in hook_tools.values() if h["tool_name"] == "Read")
    assert (read["status"], read["success"]) == ("failed", False)
    failed = [t for t in native if t["status"] == "failed"]
    assert [t["name"] for t in failed] == ["claude_code.tool.execution"]
    assert failed[0]["tool_use_id"] == read["tool_use_id"]
