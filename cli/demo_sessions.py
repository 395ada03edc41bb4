"""Synthetic Claude Code sessions for `traceability demo`: the events, shaped like real hook stdin.

Three projects, each with Python functions that are written once and then edited over the days
(each edit moves a function to its next version, so patterns get versions and lineage), read,
grepped and tested with Bash (some tests fail, some reads miss), so traces, failures, patterns and
analytics all have something to show; a fourth project, ``plugins``, runs an A/B experiment on two
versions of one helper with enough executions for the feedback loop (demo_experiment). The
payloads follow the captured ones in tests/fixtures/claude-code-hooks (Claude Code 2.1.270):
session_id, transcript_path, cwd, prompt_id, permission_mode, hook_event_name, tool_use_id,
tool_input/tool_response, duration_ms.

Nothing here does I/O: `plan_sessions` returns events with their timestamps; demo.py applies the
file changes and runs the hook.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from traceability.cli import demo_experiment
from traceability.cli.demo_code import FUNCTIONS, MODULE_HEADERS, PROMPTS, TEST_FAILURES

# Events whose captured payloads carry permission_mode (SessionStart/SessionEnd do not).
PERMISSION_MODE_EVENTS = frozenset(
    {"UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure", "Stop"}
)


@dataclass
class Event:
    """One hook call: when Claude Code would make it, and its stdin payload."""

    at: datetime
    payload: dict[str, Any]
    # A file change demo.py applies before this event is sent (PostToolUse of Write/Edit).
    write_path: Path | None = None
    write_content: str | None = None
    # For a PreToolUse of Write/Edit: skip the tool (and its Post) when the hook denies it.
    pre_of: str | None = None


@dataclass
class Session:
    project: str
    session_id: str
    events: list[Event] = field(default_factory=list)


@dataclass
class _Project:
    name: str
    root: Path
    files: dict[str, str] = field(default_factory=dict)  # module -> current content
    version: dict[tuple[str, str], int] = field(default_factory=dict)  # function -> current version index


class _SessionBuilder:
    def __init__(self, rng: random.Random, project: _Project, home: Path, start: datetime) -> None:
        self.rng = rng
        self.project = project
        self.session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.now = start
        slug = "-" + str(project.root).strip("/").replace("/", "-").replace(".", "-")
        self.common = {
            "session_id": self.session_id,
            "transcript_path": str(home / ".claude" / "projects" / slug / f"{self.session_id}.jsonl"),
            "cwd": str(project.root),
        }
        self.session = Session(project.name, self.session_id)
        self.prompt_id: str | None = None

    def _emit(self, event_name: str, fields: dict[str, Any], **extra: Any) -> Event:
        payload = dict(self.common)
        if self.prompt_id:
            payload["prompt_id"] = self.prompt_id
        if event_name in PERMISSION_MODE_EVENTS:
            payload["permission_mode"] = "default"
        payload["hook_event_name"] = event_name
        payload.update(fields)
        event = Event(self.now, payload, **extra)
        self.session.events.append(event)
        return event

    def advance(self, low_s: float, high_s: float) -> None:
        self.now += timedelta(seconds=self.rng.uniform(low_s, high_s))

    def tool_id(self) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "toolu_01" + "".join(self.rng.choice(alphabet) for _ in range(22))

    # --- session structure -------------------------------------------------------------------
    def session_start(self) -> None:
        self._emit("SessionStart", {"source": "startup", "model": "claude-sonnet-4-5"})

    def session_end(self) -> None:
        self.advance(5, 60)
        self._emit("SessionEnd", {"reason": "prompt_input_exit"})

    def turn(self, prompt: str, tools: list[tuple[str, dict[str, Any]]]) -> None:
        self.advance(10, 120)
        self.prompt_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self._emit("UserPromptSubmit", {"prompt": prompt})
        for tool_name, spec in tools:
            self.advance(1, 15)
            self.tool(tool_name, spec)
        self.advance(2, 20)
        self._emit(
            "Stop",
            {
                "stop_hook_active": False,
                "last_assistant_message": "Done.",
                "background_tasks": [],
                "session_crons": [],
            },
        )

    def tool(self, tool_name: str, spec: dict[str, Any]) -> None:
        tool_use_id = self.tool_id()
        base = {"tool_name": tool_name, "tool_input": spec["input"], "tool_use_id": tool_use_id}
        self._emit("PreToolUse", base, pre_of=tool_use_id if tool_name in ("Write", "Edit") else None)
        duration_ms = int(spec.get("duration_ms") or self.rng.lognormvariate(3.5, 0.9))
        self.now += timedelta(milliseconds=duration_ms + self.rng.uniform(5, 40))
        if spec.get("error"):
            self._emit(
                "PostToolUseFailure",
                {**base, "error": spec["error"], "is_interrupt": False, "duration_ms": duration_ms},
            )
        else:
            self._emit(
                "PostToolUse",
                {**base, "tool_response": spec["response"], "duration_ms": duration_ms},
                write_path=spec.get("write_path"),
                write_content=spec.get("write_content"),
            )


def _module_text(project: _Project, module: str) -> str:
    functions = [(key, i) for key, i in project.version.items() if key[0] == module]
    body = "\n\n".join(FUNCTIONS[project.name][key][i] for key, i in sorted(functions))
    return MODULE_HEADERS.get(module, "") + body


def _write_spec(project: _Project, module: str, function: str) -> dict[str, Any]:
    project.version[(module, function)] = 0
    content = _module_text(project, module)
    path = project.root / module
    project.files[module] = content
    return demo_experiment.write_spec(path, content)


def _edit_spec(project: _Project, module: str, function: str) -> dict[str, Any]:
    key = (module, function)
    versions = FUNCTIONS[project.name][key]
    original = project.files[module]
    current = versions[project.version[key]]
    old = _current_text(original, current)
    if project.version[key] + 1 < len(versions):
        project.version[key] += 1
        new = versions[project.version[key]]
        content = _module_text(project, module)
    else:
        # the last version: a comment-only touch (same normalized code, so the same pattern version)
        first_line, _, rest = old.partition("\n")
        new = (
            f"{first_line}\n    # reviewed: behaviour unchanged\n{rest}"
            if "# reviewed" not in old
            else old.replace("    # reviewed: behaviour unchanged\n", "")
        )
        content = original.replace(old, new)
    project.files[module] = content
    path = project.root / module
    return demo_experiment.edit_spec(path, old, new, original, content)


def _current_text(module_text: str, version_text: str) -> str:
    """The function as it stands in the module (a version, maybe with a review comment)."""
    first_line, _, rest = version_text.partition("\n")
    commented = f"{first_line}\n    # reviewed: behaviour unchanged\n{rest}"
    return commented if commented in module_text else version_text


def _read_spec(project: _Project, module: str, missing: bool = False) -> dict[str, Any]:
    path = project.root / (module.replace(".py", "_old.py") if missing else module)
    if missing:
        return {
            "input": {"file_path": str(path)},
            "error": f"File does not exist. Note: your current working directory is {project.root}.",
        }
    return demo_experiment.read_spec(path, project.files.get(module, ""))


def _bash_spec(
    rng: random.Random, project: _Project, module: str, function: str, fail_rate: float
) -> dict[str, Any]:
    stem = Path(module).stem
    command = f"python -m pytest tests/test_{stem}.py -q"
    duration = int(rng.lognormvariate(7.2, 0.5))  # ~1.3 s
    if rng.random() < fail_rate:
        failure = rng.choice(TEST_FAILURES).format(stem=stem, function=function)
        return {
            "input": {"command": command, "description": f"Run the {stem} tests"},
            "error": f"Exit code 1\n{failure}\n1 failed, 4 passed",
            "duration_ms": duration,
        }
    return {
        "input": {"command": command, "description": f"Run the {stem} tests"},
        "response": {
            "stdout": "5 passed in 0.41s",
            "stderr": "",
            "interrupted": False,
            "isImage": False,
            "noOutputExpected": False,
        },
        "duration_ms": duration,
    }


def _grep_spec(project: _Project, function: str) -> dict[str, Any]:
    users = [m for m, text in project.files.items() if function in text]
    return {
        "input": {"pattern": function, "path": str(project.root), "output_mode": "files_with_matches"},
        "response": {
            "mode": "files_with_matches",
            "filenames": [str(project.root / m) for m in users],
            "numFiles": len(users),
        },
    }


def plan_sessions(
    *, workspace: Path, home: Path, sessions: int, days: int, now: datetime, seed: int = 42
) -> list[Session]:
    """``sessions`` sessions spread over the last ``days`` days, in time order per project, then the
    sessions of the A/B experiment (demo_experiment) in their own project."""
    rng = random.Random(seed)
    projects = {name: _Project(name, workspace / name) for name in FUNCTIONS}
    names = list(FUNCTIONS)
    starts = sorted(
        now - timedelta(days=days) + timedelta(days=rng.uniform(0, days - 0.5), hours=rng.uniform(-2, 2))
        for _ in range(sessions)
    )
    planned = []
    for index, start in enumerate(starts):
        project = projects[names[index % len(names)]]
        builder = _SessionBuilder(rng, project, home, start)
        builder.session_start()
        for _ in range(rng.randint(1, 3)):
            _plan_turn(rng, builder, project)
        builder.session_end()
        planned.append(builder.session)
    experiment = _Project(demo_experiment.PROJECT, workspace / demo_experiment.PROJECT)
    for spec in demo_experiment.plan(rng, experiment.root, now=now, days=days):
        builder = _SessionBuilder(rng, experiment, home, spec.start)
        builder.session_start()
        builder.turn(spec.prompt, spec.tools)
        builder.session_end()
        planned.append(builder.session)
    return planned


def _plan_turn(rng: random.Random, builder: _SessionBuilder, project: _Project) -> None:
    functions = list(FUNCTIONS[project.name])
    unwritten = [key for key in functions if key not in project.version]
    module, function = rng.choice(unwritten) if unwritten and rng.random() < 0.7 else rng.choice(functions)
    if (module, function) not in project.version:
        # a Write of the whole module (with the functions it already holds)
        builder.turn(
            PROMPTS["write"].format(function=function, module=module),
            [
                ("Read", _read_spec(project, module, missing=module not in project.files)),
                ("Write", _write_spec(project, module, function)),
                ("Bash", _bash_spec(rng, project, module, function, fail_rate=0.4)),
            ],
        )
        return
    kind = rng.random()
    if kind < 0.6:
        tools: list[tuple[str, dict[str, Any]]] = [
            ("Read", _read_spec(project, module)),
            ("Edit", _edit_spec(project, module, function)),
            ("Bash", _bash_spec(rng, project, module, function, fail_rate=0.3)),
        ]
        if rng.random() < 0.3:  # the test failed: fix it again
            tools.append(("Edit", _edit_spec(project, module, function)))
            tools.append(("Bash", _bash_spec(rng, project, module, function, fail_rate=0.1)))
        builder.turn(PROMPTS["edit"].format(function=function, module=module), tools)
    elif kind < 0.8:
        builder.turn(
            PROMPTS["explore"].format(function=function, module=module),
            [
                ("Grep", _grep_spec(project, function)),
                ("Read", _read_spec(project, module, missing=rng.random() < 0.25)),
            ],
        )
    else:
        builder.turn(
            PROMPTS["test"].format(function=function, module=module),
            [("Bash", _bash_spec(rng, project, module, function, fail_rate=0.35))],
        )
