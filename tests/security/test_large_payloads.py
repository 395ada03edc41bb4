"""Payloads near Claude Code's hook timeout: the hook's work is capped, whatever the payload's size.

Real hook processes on 10 MB and 50 MB payloads with secrets placed everywhere, including right at
the cuts (a string is cut before it is redacted, with a margin, so a cut must not expose an
un-redacted tail). Timing is not asserted here: bench/hook measures a large payload against a small
one. The deadline path is made to happen with a 1 ms deadline, the over-size path with stdin over
the 64 MiB cap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.hooks import HookEnv, read_spool
from traceability.hooks.main import MAX_STDIN_BYTES
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.redaction.redact import CUT_MARGIN

PROMPT_ID = "5b0c1d2e-3f40-4a51-8b62-7c8d9e0f1a2b"
CODE_LIMIT = 64 * 1024  # HookSettings.max_code_bytes default
FILLER = "value = compute(item)  # TOKEN SECRET password eyJ AKIA API_KEY hints on every line\n"


def _secrets(tag: str) -> list[str]:
    return [f"ghp_{tag}{i:02d}" + "Zq7Rk2Lm9Xw4Vb8Nc3Tf6Hy1Pd5Sg0Ja" for i in range(6)]


def _big_text(size: int, secrets: list[str], cuts: list[int]) -> str:
    """``size`` characters of hint-laden filler with a secret at the start, across each cut, in the
    middle and at the end."""
    text = list((FILLER * (size // len(FILLER) + 1))[:size])
    spots = [0, *(max(0, cut - len(secrets[0]) // 2) for cut in cuts), size // 2, size - len(secrets[0])]
    for secret, at in zip(secrets, spots, strict=False):
        text[at : at + len(secret)] = secret
    return "".join(text)


def _leaks(hook: HookEnv, secrets: list[str]) -> list[str]:
    blobs = [
        p.read_bytes() for base in (hook.spool, hook.state, hook.logs) for p in base.rglob("*") if p.is_file()
    ]
    return [s for s in secrets if any(s.encode() in blob for blob in blobs)]


def _event(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": "large-payloads",
        "hook_event_name": name,
        "prompt_id": PROMPT_ID,
        "cwd": "/w",
        **fields,
    }


def test_10mb_write_and_50mb_prompt_exit_zero_record_a_span_and_leak_nothing(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path, {"TRACEABILITY_CAPTURE_PROMPTS": "1", "TRACEABILITY_HOOK_DEADLINE_MS": "600000"})
    write_secrets, prompt_secrets, output_secrets = _secrets("w"), _secrets("p"), _secrets("o")
    code = _big_text(10_000_000, write_secrets, [CODE_LIMIT, CODE_LIMIT + CUT_MARGIN])
    write = {
        "tool_name": "Write",
        "tool_use_id": "toolu_big",
        "tool_input": {"file_path": "/w/big.py", "content": code},
    }
    events = [
        _event("UserPromptSubmit", prompt=_big_text(50_000_000, prompt_secrets, [16 * 1024, 16 * 1024 + CUT_MARGIN])),
        _event("PreToolUse", **write),
        _event("PostToolUse", **write, tool_response={"type": "create", "filePath": "/w/big.py",
                                                      "stdout": _big_text(10_000_000, output_secrets, [2048])}),
    ]  # fmt: skip
    for event in events:
        result = hook.run(event)
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    spans = read_spool(hook.spool)
    hooks = sorted(
        s.attributes[sc.HOOK_TYPE] for s in spans if s.attributes.get(sc.SPAN_TYPE) == sc.SPAN_TYPE_HOOK
    )
    assert hooks == ["PostToolUse", "PreToolUse", "UserPromptSubmit"]
    assert not any(s.attributes.get(sc.HOOK_DEGRADED) for s in spans)
    tool = next(s for s in spans if s.attributes.get(sc.SPAN_TYPE) == sc.SPAN_TYPE_TOOL)
    assert tool.attributes[sc.CODE_TRUNCATED] is True
    assert tool.attributes[sc.CODE_ORIGINAL_SIZE] == len(code.encode())
    assert len(str(tool.attributes[sc.CODE_CONTENT]).encode()) <= CODE_LIMIT
    assert str(tool.attributes[sc.CODE_CONTENT]).startswith("[REDACTED]")  # the secret at offset 0
    assert _leaks(hook, write_secrets + prompt_secrets + output_secrets) == []


def test_past_its_deadline_the_hook_writes_one_minimal_degraded_span(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path, {"TRACEABILITY_HOOK_DEADLINE_MS": "1"})
    secrets = _secrets("d")
    content = _big_text(10_000_000, secrets, [CODE_LIMIT])
    event = _event("PostToolUse", tool_name="Write", tool_use_id="toolu_late",
                   tool_input={"file_path": "/w/late.py", "content": content}, tool_response={"type": "create"})  # fmt: skip
    result = hook.run(event)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    spans = read_spool(hook.spool)
    assert len(spans) == 1
    attrs = spans[0].attributes
    assert (attrs[sc.HOOK_DEGRADED], attrs[sc.HOOK_DEGRADED_REASON]) == (True, sc.DEGRADED_DEADLINE)
    assert (attrs[sc.HOOK_TYPE], attrs[sc.SESSION_ID], attrs[sc.GEN_AI_TOOL_NAME]) == (
        "PostToolUse", "large-payloads", "Write")  # fmt: skip
    assert sc.CODE_CONTENT not in attrs and sc.INPUT_DATA not in attrs
    assert "hook degraded (deadline)" in hook.error_log()
    assert _leaks(hook, secrets) == []


def test_stdin_over_the_cap_gets_a_minimal_span_named_from_the_payload_head(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    secret = _secrets("c")[0]
    event = _event("PreToolUse", tool_name="Write", tool_use_id="toolu_huge",
                   tool_input={"file_path": "/w/huge.txt", "content": secret + "x" * MAX_STDIN_BYTES})  # fmt: skip
    result = hook.run(json.dumps(event).encode())
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    spans = read_spool(hook.spool)
    assert len(spans) == 1
    attrs = spans[0].attributes
    assert (attrs[sc.HOOK_DEGRADED_REASON], attrs[sc.GEN_AI_TOOL_CALL_ID], attrs[sc.PROMPT_ID]) == (
        sc.DEGRADED_TOO_LARGE, "toolu_huge", PROMPT_ID)  # fmt: skip
    assert spans[0].trace_id == PROMPT_ID.replace("-", "")  # in its turn's trace
    assert _leaks(hook, [secret]) == []


def test_the_identifiers_are_read_from_a_payload_head_that_does_not_parse() -> None:
    from traceability.hooks.degraded_span import fields_of

    head = b'{"session_id": null, "hook_event_name" : "PreToolUse", "tool_name":"Write", "prompt_id": "a\\"b", "tool_use_id": "cut'
    assert fields_of(head) == {"hook_event_name": "PreToolUse", "tool_name": "Write", "prompt_id": 'a"b'}
