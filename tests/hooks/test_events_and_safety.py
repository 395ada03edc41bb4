"""Every captured payload through the real hook; malformed input; secrets; prompt capture; hot-path imports."""

from __future__ import annotations

import json
import marshal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.hooks import HookEnv
from traceability.hooks import settings as hook_settings
from traceability.hooks import startup
from traceability.hooks.events import TURN_EVENTS
from traceability.hooks.install import entry_script
from traceability.hooks.main import VERSION
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.ids import session_trace_id
from traceability.instrumentation.spool import default_spool_dir

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "claude-code-hooks"
PAYLOADS = sorted(p.name for p in FIXTURES.glob("*__*.json"))


def test_the_corpus_is_there() -> None:
    assert len(PAYLOADS) >= 188


@pytest.mark.parametrize("name", PAYLOADS)
def test_each_captured_payload_is_recorded_as_its_event(name: str, tmp_path: Path) -> None:
    raw = (FIXTURES / name).read_bytes()
    event = json.loads(raw)
    hook = HookEnv(tmp_path)
    result = hook.run(raw)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    hook.assert_no_errors()
    spans = hook.spans()
    hooks = [s for s in spans if s.attributes.get(sc.SPAN_TYPE) == sc.SPAN_TYPE_HOOK]
    assert len(hooks) == 1
    span = hooks[0]
    assert span.name == f"hook {event['hook_event_name']}"
    assert span.attributes[sc.HOOK_TYPE] == event["hook_event_name"]
    assert span.attributes[sc.SESSION_ID] == event["session_id"]
    if event.get("prompt_id"):  # the prompt id of a span is that of the trace it sits in
        in_turn = span.trace_id == uuid.UUID(event["prompt_id"]).hex
        assert in_turn == (event["hook_event_name"] in TURN_EVENTS)  # a lone event: no turn seen
        if in_turn:
            assert span.attributes[sc.PROMPT_ID] == event["prompt_id"]
        else:  # in the session trace, with the prompt id it came with kept
            assert span.trace_id == f"{session_trace_id(event['session_id']):032x}"
            assert sc.PROMPT_ID not in span.attributes
            assert span.json_attr(sc.METADATA)["event_prompt_id"] == event["prompt_id"]
    if event.get("tool_use_id"):
        assert span.attributes[sc.GEN_AI_TOOL_CALL_ID] == event["tool_use_id"]
    if event.get("agent_id"):
        assert span.attributes[sc.GEN_AI_AGENT_ID] == event["agent_id"]
    if event.get("tool_name"):
        assert span.attributes[sc.GEN_AI_TOOL_NAME] == event["tool_name"]
    if event["hook_event_name"] in ("PostToolUse", "PostToolUseFailure"):
        (tool,) = [s for s in spans if s.name == f"execute_tool {event['tool_name']}"]
        assert tool.attributes[sc.STATUS] == (
            "completed" if event["hook_event_name"] == "PostToolUse" else "failed"
        )
        if isinstance(event.get("duration_ms"), int):
            assert tool.attributes[sc.DURATION_MS] == float(event["duration_ms"])
        if event["tool_name"] == "Write":
            assert tool.attributes[sc.CODE_CONTENT] == event["tool_input"]["content"][:65536]


@pytest.mark.parametrize(
    "stdin", [b"", b"not json", b"[1, 2]", b'{"hook_event_name": 5, "session_id": null}', b"\xff\xfe{"]
)
def test_malformed_input_never_fails_the_session(stdin: bytes, tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    result = hook.run(stdin)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_unknown_event_and_missing_fields_are_recorded_generically(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    hook.replay([{"session_id": "s", "hook_event_name": "SomethingNew", "weird": {"nested": [1, None, 2.5]}}])
    (span,) = hook.spans()
    assert span.attributes[sc.HOOK_TYPE] == "SomethingNew"
    assert span.json_attr(sc.INPUT_DATA) == {"weird": {"nested": [1, None, 2.5]}}


def test_unwritable_spool_is_logged_and_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "spool").write_text("a file where the spool directory should be")
    hook = HookEnv(tmp_path)
    result = hook.run({"session_id": "s", "hook_event_name": "Notification", "message": "m"})
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert "hook failed" in hook.error_log()


SECRETS = {
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "github": "ghp_" + "a1B2c3D4e5" * 4,
    "anthropic": "sk-ant-api03-" + "Zx9" * 15,
    "openai": "sk-proj-" + "Qw8" * 12,
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "url_password": "hunter2hunter2",
    "env": "v3ry-s3cret-value",
    "private_key_body": "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw",
}


def test_secrets_are_redacted_before_anything_is_written(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path, {"TRACEABILITY_CAPTURE_PROMPTS": "1"})
    pem = f"-----BEGIN RSA PRIVATE KEY-----\n{SECRETS['private_key_body']}\n-----END RSA PRIVATE KEY-----\n"
    env_file = f"DEBUG=1\nSTRIPE_SECRET_KEY={SECRETS['env']}\n"
    base = {"session_id": "sec", "prompt_id": "0f6c4a2e-1111-4222-8333-944455556666", "cwd": str(tmp_path)}
    target = tmp_path / "deploy.py"
    code = f"KEY = '{SECRETS['aws']}'\nTOKEN = '{SECRETS['github']}'\n"
    target.write_text(code)
    events: list[dict[str, Any]] = [
        {**base, "hook_event_name": "UserPromptSubmit",
         "prompt": f"use {SECRETS['anthropic']} and {SECRETS['openai']} with jwt {SECRETS['jwt']}"},
        {**base, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_use_id": "b1",
         "tool_input": {"command": f"psql postgresql://admin:{SECRETS['url_password']}@db/x"}},
        {**base, "hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_use_id": "b1",
         "tool_input": {"command": f"psql postgresql://admin:{SECRETS['url_password']}@db/x"},
         "tool_response": {"stdout": pem, "stderr": ""}},
        {**base, "hook_event_name": "PreToolUse", "tool_name": "Write", "tool_use_id": "w1",
         "tool_input": {"file_path": str(tmp_path / ".env"), "content": env_file}},
        {**base, "hook_event_name": "PostToolUse", "tool_name": "Write", "tool_use_id": "w1",
         "tool_input": {"file_path": str(tmp_path / ".env"), "content": env_file}, "tool_response": {"type": "create"}},
        {**base, "hook_event_name": "PostToolUse", "tool_name": "Edit", "tool_use_id": "e1",
         "tool_input": {"file_path": str(target), "old_string": "x", "new_string": "y"}, "tool_response": {}},
        {**base, "hook_event_name": "Stop", "last_assistant_message": f"done {SECRETS['github']}"},
    ]  # fmt: skip
    hook.replay(events)
    written = b"".join(p.read_bytes() for p in hook.spool.glob("*.json"))
    written += b"".join(p.read_bytes() for p in (hook.state / "sessions").glob("*"))
    for name, secret in SECRETS.items():
        assert secret.encode() not in written, f"{name} secret leaked"
    spans = hook.spans()
    (turn,) = [s for s in spans if s.name == sc.SPAN_NAME_TURN]
    assert turn.attributes[sc.PROMPT_TEXT].startswith("use [REDACTED] and [REDACTED] with jwt [REDACTED]")
    (env_write,) = [s for s in spans if s.name == "execute_tool Write"]
    assert env_write.attributes[sc.CODE_CONTENT] == "DEBUG=1\nSTRIPE_SECRET_KEY=[REDACTED]\n"
    assert env_write.attributes[sc.CODE_LANGUAGE] == "dotenv"
    (edit,) = [s for s in spans if s.name == "execute_tool Edit"]
    assert edit.attributes[sc.CODE_CONTENT] == "KEY = '[REDACTED]'\nTOKEN = '[REDACTED]'\n"
    (bash,) = [s for s in spans if s.name == "execute_tool Bash"]
    assert "postgresql://admin:[REDACTED]@db/x" in bash.attributes[sc.INPUT_DATA]


def test_prompt_text_only_with_capture_prompts(tmp_path: Path) -> None:
    events = [
        {"session_id": "p", "prompt_id": "0f6c4a2e-1111-4222-8333-944455556666", "hook_event_name": "UserPromptSubmit",
         "prompt": "refactor the parser"},
        {"session_id": "p", "prompt_id": "0f6c4a2e-1111-4222-8333-944455556666", "hook_event_name": "Stop"},
    ]  # fmt: skip
    off = HookEnv(tmp_path / "off")
    off.replay(events)
    assert b"refactor the parser" not in b"".join(p.read_bytes() for p in off.spool.glob("*.json"))
    (turn,) = [s for s in off.spans() if s.name == sc.SPAN_NAME_TURN]
    assert turn.attributes[sc.PROMPT_LENGTH] == len("refactor the parser")
    on = HookEnv(tmp_path / "on")
    on.config.parent.mkdir(parents=True, exist_ok=True)
    on.config.write_text("traceability:\n  capture_prompts: true\n")
    on.replay(events)
    (turn,) = [s for s in on.spans() if s.name == sc.SPAN_NAME_TURN]
    assert turn.attributes[sc.PROMPT_TEXT] == "refactor the parser"
    # the environment overrides the file
    env_off = HookEnv(tmp_path / "env", {"TRACEABILITY_CAPTURE_PROMPTS": "0"})
    env_off.config.parent.mkdir(parents=True, exist_ok=True)
    env_off.config.write_text("traceability:\n  capture_prompts: true\n")
    env_off.replay(events)
    (turn,) = [s for s in env_off.spans() if s.name == sc.SPAN_NAME_TURN]
    assert sc.PROMPT_TEXT not in turn.attributes


def test_config_file_is_reparsed_after_an_edit_and_a_bad_file_falls_back(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    hook.config.write_text("traceability:\n  service_name: first\n")
    hook.replay([{"session_id": "c", "hook_event_name": "Notification"}])
    hook.config.write_text("traceability:\n  service_name: second-name\n")
    hook.replay([{"session_id": "c", "hook_event_name": "Notification"}])
    assert sorted(s.resource[sc.SERVICE_NAME] for s in hook.spans()) == ["first", "second-name"]
    hook.config.write_text("traceability: [unclosed\n")
    result = hook.run({"session_id": "c", "hook_event_name": "Notification"})
    assert result.returncode == 0
    assert "claude-code-hooks" in {s.resource[sc.SERVICE_NAME] for s in hook.spans()}


COLD_MODULES = (
    "traceability.hooks.degraded_span",
    "traceability.hooks.settings_file",
    "traceability.hooks.state_sweep",
    "traceability.hooks.bundle_build",
    "traceability.instrumentation.redaction.regex_compile",
)


def test_hot_path_imports_nothing_heavy(tmp_path: Path) -> None:
    """The steady state: the hook's modules run from their bundle (hooks/startup.py), which only a
    run that finds it missing or stale rewrites (importing ``ast``), as ``--warm`` does here; the
    config's parse is cached (by the session's first run)."""
    hook = HookEnv(tmp_path)
    subprocess.run([*hook.command(), "--warm"], env=hook.env(), check=True, timeout=60)
    event = json.dumps({"session_id": "i", "hook_event_name": "PostToolUse", "tool_name": "Bash",
                        "tool_use_id": "t", "tool_input": {"command": "ls"}, "tool_response": {"stdout": "x"}})  # fmt: skip
    hook.run(event.encode())
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-X", "importtime", str(entry_script())],
        input=event.encode(), capture_output=True, env=hook.env(), check=True,
    )  # fmt: skip
    imported = {line.split("|")[-1].strip() for line in result.stderr.decode().splitlines() if "|" in line}
    for heavy in (
        "_json",  # loaded from the file the bundle names, without the import system's search
        "re",
        "typing",
        "os",
        "json",
        "logging",
        "enum",
        "uuid",
        "contextlib",
        "opentelemetry",
        "site",
    ):
        assert heavy not in imported, f"the telemetry path imports {heavy}"
    assert "traceability.hooks.startup" in imported and "traceability.hooks.main" not in imported
    # the cold paths (a degraded run, a config edit, a new session's sweep, a redaction cache miss)
    # are neither imported by a normal run nor bundled with the modules every run executes
    _, entries, _ = marshal.loads(Path(startup.primary_path()).read_bytes())
    bundled = {entry[0] for entry in entries}
    assert "traceability.hooks.main" in bundled
    for cold in COLD_MODULES:
        assert cold not in imported and cold not in bundled, f"{cold} is on the telemetry path"
    assert len(hook.spans()) == 4  # both runs' tool and hook spans


def test_defaults_agree_with_the_shared_modules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from importlib.metadata import version

    assert version("pattern-traceability") == VERSION
    monkeypatch.delenv("TRACEABILITY_SPOOL_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert hook_settings.default_spool_dir() == default_spool_dir()
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert hook_settings.default_spool_dir() == default_spool_dir()
