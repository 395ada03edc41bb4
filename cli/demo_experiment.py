"""The demo's A/B experiment: one helper, two versions, enough executions for a real verdict.

The ``plugins`` project keeps an HTTP helper, ``fetch_json``, in ``shared/http.py``; every plugin
vendors its own copy (``plugins/<name>/_http.py``, so each can be released alone). The first
session writes version 1 (a new connection per call), the second edits it into version 2 (one
pooled session, reused). Then the sessions take part in an A/B test, alternately (as
``feedback/assign`` would split them): a control session vendors version 1 into its plugins, a
treatment session version 2. The deriver records each copy as an execution of that version, and
version 2's writes are faster, so ``feedback/analyze`` has two samples of at least
``MIN_PER_VERSION`` executions each with a real difference in execution time to test.

Nothing here does I/O: the functions return the turns' tool specs (as demo_sessions builds them)
and their times; demo_sessions emits the events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT = "plugins"
HOME_MODULE = "shared/http.py"
FUNCTION = "fetch_json"
MODULE_HEADER = "import json\nimport urllib.request\n\n\n"
MIN_PER_VERSION = 36  # executions of each version (the feedback loop's default minimum is 30)
SESSIONS_PER_ARM = 4
WRITES_PER_SESSION = -(-MIN_PER_VERSION // SESSIONS_PER_ARM)
# Claude Code's duration_ms of the Write of each version's copy (log-normal: median ms, sigma).
WRITE_MS = {0: (160.0, 0.3), 1: (100.0, 0.3)}

VERSIONS = (
    "def fetch_json(url, timeout=10):\n"
    '    """GET ``url`` and decode its JSON body (a new connection per call)."""\n'
    "    with urllib.request.urlopen(url, timeout=timeout) as response:\n"
    "        return json.loads(response.read())\n",
    "def fetch_json(url: str, timeout: float = 10.0, *, opener: urllib.request.OpenerDirector = OPENER) -> object:\n"
    '    """GET ``url`` and decode its JSON body, reusing the pooled opener\'s connections."""\n'
    '    with opener.open(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=timeout) as response:\n'
    "        return json.loads(response.read())\n",
)
_V2_PRELUDE = "OPENER = urllib.request.build_opener()\n\n\n"

PLUGINS = [
    f"{a}_{b}"
    for a in ("github", "jira", "slack", "stripe", "sentry", "notion", "linear", "zendesk", "hubspot")
    for b in ("sync", "export", "webhooks", "search", "reports", "alerts", "backfill", "audit")
]


@dataclass(frozen=True)
class PlannedSession:
    """One session of one prompt turn: when it starts, the prompt, its tool specs."""

    start: datetime
    prompt: str
    tools: list[tuple[str, dict[str, Any]]]
    arm: str  # "setup", "control" (version 1) or "treatment" (version 2)


def module_text(version: int) -> str:
    return MODULE_HEADER + (_V2_PRELUDE if version else "") + VERSIONS[version]


def write_spec(path: Path, content: str, duration_ms: int | None = None) -> dict[str, Any]:
    """A Write that creates ``path`` with ``content``, as Claude Code reports it."""
    spec: dict[str, Any] = {
        "input": {"file_path": str(path), "content": content},
        "response": {"type": "create", "filePath": str(path), "content": content, "structuredPatch": []},
        "write_path": path,
        "write_content": content,
    }
    if duration_ms is not None:
        spec["duration_ms"] = duration_ms
    return spec


def edit_spec(path: Path, old: str, new: str, original: str, content: str) -> dict[str, Any]:
    """An Edit of ``path`` (``original`` -> ``content``) as Claude Code reports it."""
    return {
        "input": {"file_path": str(path), "old_string": old, "new_string": new, "replace_all": False},
        "response": {
            "filePath": str(path),
            "oldString": old,
            "newString": new,
            "originalFile": original,
            "structuredPatch": [],
            "userModified": False,
            "replaceAll": False,
        },
        "write_path": path,
        "write_content": content,
    }


def _edit_to_v2(path: Path) -> dict[str, Any]:
    return edit_spec(path, VERSIONS[0], _V2_PRELUDE + VERSIONS[1], module_text(0), module_text(1))


def read_spec(path: Path, content: str) -> dict[str, Any]:
    """A Read of the whole of ``path`` as Claude Code reports it."""
    lines = content.count("\n")
    return {
        "input": {"file_path": str(path)},
        "response": {
            "type": "text",
            "file": {
                "filePath": str(path),
                "content": content,
                "numLines": lines,
                "startLine": 1,
                "totalLines": lines,
            },
        },
    }


def plan(rng: random.Random, root: Path, *, now: datetime, days: int) -> list[PlannedSession]:
    """The experiment's sessions, in time order, within the last ``min(days, 6)`` days before ``now``.

    Six days keep every execution inside the feedback loop's default window (7 days).
    """
    span = timedelta(days=min(max(days, 1), 6))
    start = now - span + timedelta(hours=1)
    home = root / HOME_MODULE
    sessions = [
        PlannedSession(
            start,
            f"Add a {FUNCTION} helper to {HOME_MODULE}",
            [("Write", write_spec(home, module_text(0)))],
            "setup",
        ),
        PlannedSession(
            start + timedelta(hours=1),
            f"Make {FUNCTION} reuse connections: it opens one per call",
            [("Read", read_spec(home, module_text(0))), ("Edit", _edit_to_v2(home))],
            "setup",
        ),
    ]
    plugins = iter(PLUGINS)
    arms = 2 * SESSIONS_PER_ARM
    step = (span - timedelta(hours=3)) / arms
    for i in range(arms):
        version = i % 2  # alternate: control, treatment, control, ...
        at = start + timedelta(hours=2) + step * i + timedelta(minutes=rng.uniform(0, 30))
        names = [next(plugins) for _ in range(WRITES_PER_SESSION)]
        median, sigma = WRITE_MS[version]
        tools = [
            (
                "Write",
                write_spec(
                    root / "plugins" / name / "_http.py",
                    module_text(version),
                    max(1, int(rng.lognormvariate(0.0, sigma) * median)),
                ),
            )
            for name in names
        ]
        prompt = f"Vendor the HTTP helper into the {', '.join(names[:2])} and {len(names) - 2} more plugins"
        sessions.append(PlannedSession(at, prompt, tools, "treatment" if version else "control"))
    return sessions
