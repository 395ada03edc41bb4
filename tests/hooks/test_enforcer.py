"""The quality enforcer through the real hook: ruff findings, block/warn answers, RAG over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.hooks import HookEnv
from tests.support.rag_server import RagServer
from traceability.hooks.enforcer import Finding, score
from traceability.instrumentation import semconv as sc

SESSION = {
    "session_id": "e0000000-0000-4000-8000-00000000e001",
    "prompt_id": "e0000000-0000-4000-8000-00000000f001",
}
BAD_PY = "import os\nimport sys\n\n\ndef f(x):\n    return undefined_name + x\n"


@pytest.fixture
def rag_server() -> Iterator[RagServer]:
    body = {
        "success": True,
        "results": [
            {"content": "...", "similarity": 0.61, "metadata": {"title": "logging setup"}},
            {"content": "...", "similarity": 0.93, "metadata": {"title": "async_db_writer_v2"}},
            {"content": "...", "similarity": 0.77, "id": "p3"},
        ],
    }
    with RagServer(body=body) as server:
        yield server


def _config(hook: HookEnv, mode: str, rag_url: str | None = None, extra: str = "") -> None:
    rag = f"rag:\n  enabled: true\n  base_url: {rag_url}\n  timeout_seconds: 2\n" if rag_url else ""
    hook.config.write_text(
        f"enforcement:\n  enabled: true\n  mode: {mode}\n  performance_budget_seconds: 20\n"
        f"  intercept_tools: [Write, Edit, MultiEdit]\n{extra}{rag}"
    )


def _pre_write(path: Path, content: str, tool_use_id: str = "toolu_w1") -> dict[str, Any]:
    return {**SESSION, "cwd": str(path.parent), "hook_event_name": "PreToolUse", "tool_name": "Write",
            "tool_use_id": tool_use_id, "tool_input": {"file_path": str(path), "content": content}}  # fmt: skip


def test_block_mode_denies_bad_python_with_ruff_findings(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    _config(hook, "block", extra="  min_score: 0.95\n")
    target = tmp_path / "work" / "module.py"
    target.parent.mkdir()
    result = hook.run(_pre_write(target, BAD_PY))
    assert result.returncode == 0 and result.stderr == b""
    answer = json.loads(result.stdout)["hookSpecificOutput"]
    assert answer["hookEventName"] == "PreToolUse" and answer["permissionDecision"] == "deny"
    assert "F401" in answer["permissionDecisionReason"] and "F821" in answer["permissionDecisionReason"]
    (span,) = [s for s in hook.spans() if s.attributes.get(sc.HOOK_TYPE) == "PreToolUse"]
    results = span.json_attr(sc.QUALITY_RESULTS)
    codes = sorted(v["code"] for v in results["violations"])
    assert codes == ["F401", "F401", "F821"]
    assert results["corrections_available"] == 2  # the unused imports are fixable
    assert span.attributes[sc.QUALITY_SCORE] == pytest.approx(1 - 0.05 * 2 - 0.1) == results["quality_score"]
    assert span.attributes[sc.QUALITY_DECISION] == "deny" and span.attributes[sc.QUALITY_PERFORMED] is True
    assert span.attributes[sc.QUALITY_VIOLATIONS] == 3 and span.attributes[sc.QUALITY_CORRECTIONS] == 2
    assert span.attributes[sc.HOOK_NAME] == "quality-enforcer"
    # the denied Write never gets a Post: Stop closes it as blocked, carrying the enforcer's score
    hook.replay([{**SESSION, "hook_event_name": "Stop"}])
    (tool,) = [s for s in hook.spans() if s.name == "execute_tool Write"]
    assert tool.attributes[sc.STATUS] == "blocked"
    assert tool.attributes[sc.QUALITY_SCORE] == span.attributes[sc.QUALITY_SCORE]
    assert tool.attributes[sc.QUALITY_DECISION] == "deny"


def test_clean_python_is_allowed_silently_and_warn_mode_only_advises(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    _config(hook, "block")
    good = hook.run(_pre_write(tmp_path / "ok.py", "def add(a: int, b: int) -> int:\n    return a + b\n"))
    assert (good.returncode, good.stdout) == (0, b"")
    _config(hook, "warn")
    warned = hook.run(_pre_write(tmp_path / "bad.py", BAD_PY, "toolu_w2"))
    answer = json.loads(warned.stdout)["hookSpecificOutput"]
    assert "permissionDecision" not in answer  # the user's permission prompt is left alone
    assert "F821" in answer["additionalContext"]
    scores = {s.attributes[sc.GEN_AI_TOOL_CALL_ID]: s.attributes[sc.QUALITY_SCORE] for s in hook.spans()}
    assert scores == {"toolu_w1": 1.0, "toolu_w2": pytest.approx(0.8)}


def test_syntax_and_generic_checks_for_other_languages(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    _config(hook, "block")
    cases = {
        "broken.json": ('{"a": 1,,}', 0.0),
        "ok.yaml": ("a: 1\nb: [1, 2]\n", 1.0),
        "bad.toml": ("a = = 1\n", 0.0),
        "bad.sh": ("if then fi (\n", 0.0),
        "merge.ts": ("const a = 1;\n<<<<<<< HEAD\nconst b = 2;\n=======\n>>>>>>> other\n", 0.0),
    }
    for i, (name, (content, _)) in enumerate(cases.items()):
        result = hook.run(_pre_write(tmp_path / name, content, f"toolu_{i}"))
        assert result.returncode == 0
    got = {
        s.attributes[sc.CODE_FILE_PATH].rpartition("/")[2]: s.attributes[sc.QUALITY_SCORE]
        for s in hook.spans()
        if s.attributes.get(sc.QUALITY_PERFORMED)
    }
    assert got == {name: expected for name, (_, expected) in cases.items()}


def test_edit_is_checked_on_the_file_it_would_produce(tmp_path: Path) -> None:
    hook = HookEnv(tmp_path)
    _config(hook, "block", extra="  min_score: 0.95\n")
    target = tmp_path / "m.py"
    target.write_text("def f() -> int:\n    return 1\n")
    event = {**SESSION, "cwd": str(tmp_path), "hook_event_name": "PreToolUse", "tool_name": "Edit",
             "tool_use_id": "toolu_e", "tool_input": {"file_path": str(target), "old_string": "return 1",
                                                      "new_string": "return missing"}}  # fmt: skip
    answer = json.loads(hook.run(event).stdout)["hookSpecificOutput"]
    assert answer["permissionDecision"] == "deny" and "F821" in answer["permissionDecisionReason"]


def test_rag_query_is_a_child_http_span_with_matches(tmp_path: Path, rag_server: RagServer) -> None:
    hook = HookEnv(tmp_path)
    _config(hook, "warn", rag_server.url)
    target = tmp_path / "writer.py"
    assert hook.run(_pre_write(target, "def ok() -> None:\n    pass\n")).returncode == 0
    hook.assert_no_errors()
    ((path, headers, body),) = rag_server.requests
    assert path == "/api/rag/query" and body["match_count"] == 5 and "writer.py" in body["query"]
    spans = hook.spans()
    (hook_span,) = [s for s in spans if s.attributes.get(sc.HOOK_TYPE) == "PreToolUse"]
    (http,) = [s for s in spans if s.attributes.get(sc.SPAN_TYPE) == sc.SPAN_TYPE_RAG]
    assert http.trace_id == hook_span.trace_id and http.parent_span_id == hook_span.span_id
    assert http.attributes.get("http.request.method", http.attributes.get("http.method")) == "POST", (
        http.attributes
    )
    assert http.attributes.get("http.response.status_code", http.attributes.get("http.status_code")) == 200
    assert headers["traceparent"].split("-")[1:3] == [http.trace_id, http.span_id]
    assert hook_span.attributes[sc.RAG_PERFORMED] is True
    assert hook_span.attributes[sc.RAG_MATCHES] == 3
    assert hook_span.attributes[sc.RAG_CONFIDENCE] == 0.93
    assert hook_span.attributes[sc.RAG_TOP_PATTERN] == "async_db_writer_v2"
    assert hook_span.json_attr(sc.RAG_RESULTS)["success"] is True


def test_rag_failures_are_recorded_not_raised(tmp_path: Path) -> None:
    with RagServer(status=503, body={"detail": "index warming up"}) as server:
        hook = HookEnv(tmp_path / "a")
        hook.root.mkdir()
        _config(hook, "warn", server.url)
        assert hook.run(_pre_write(tmp_path / "x.py", "x = 1\n")).returncode == 0
        (span,) = [s for s in hook.spans() if s.attributes.get(sc.HOOK_TYPE) == "PreToolUse"]
        assert span.json_attr(sc.RAG_RESULTS)["success"] is False
        assert "HTTP 503" in span.attributes[sc.RAG_ERROR] and "warming" in span.attributes[sc.RAG_ERROR]
        url = server.url
    hook = HookEnv(tmp_path / "b")  # the server is gone: connection refused
    hook.root.mkdir()
    _config(hook, "warn", url)
    assert hook.run(_pre_write(tmp_path / "x.py", "x = 1\n")).returncode == 0
    (span,) = [s for s in hook.spans() if s.attributes.get(sc.HOOK_TYPE) == "PreToolUse"]
    assert "ConnectError" in span.attributes[sc.RAG_ERROR]
    assert span.attributes[sc.QUALITY_SCORE] == 1.0


def test_score_is_bounded_and_ordered() -> None:
    assert score([]) == 1.0
    assert score([Finding("X1", "m", fixable=True)]) > score([Finding("X1", "m")])
    assert score([Finding("invalid-syntax", "m", syntax=True)]) == 0.0
    assert score([Finding("E1", "m")] * 50) == 0.0
