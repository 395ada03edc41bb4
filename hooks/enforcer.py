"""The quality enforcer: PreToolUse on Write/Edit/MultiEdit (``enforcement.intercept_tools``).

Phases, within ``enforcement.performance_budget_seconds``: the content the tool would write is
rebuilt (Write's content; Edit/MultiEdit applied to the file on disk); checked (Python through
``ruff``: violations and which are fixable; JSON/TOML/YAML parsed; shell through ``bash -n``; every
language for size, very long lines, NUL bytes and merge-conflict markers); scored; optionally
matched against a RAG service; and decided. In ``block`` mode a score under
``enforcement.min_score`` answers Claude Code's ``permissionDecision: "deny"`` with the reasons; in
``warn`` mode the findings go back to Claude as ``additionalContext`` and the normal permission flow
is left alone (an "allow" would skip the user's permission prompt).

Score: 1 - penalties, clamped to [0, 1]: a syntax error 1.0; each violation ruff cannot fix 0.1, each
it can fix 0.05; over the size limit 0.5; NUL bytes 0.5; conflict markers 0.5; long lines 0.05
each (at most 0.2).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traceability.hooks import fs, payload
from traceability.hooks.settings import HookSettings
from traceability.hooks.slowpath import enable_site_packages
from traceability.instrumentation import posix_fs
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.redaction.redact import redact
from traceability.instrumentation.semconv import language_of

MAX_REPORTED = 50
SYNTAX_CODES = frozenset({"invalid-syntax", "E999", None})


@dataclass
class Finding:
    code: str
    message: str
    line: int = 0
    fixable: bool = False
    syntax: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "line": self.line, "fixable": self.fixable}


@dataclass
class Outcome:
    """What the hook adds to its span, stores for the tool span, and prints for Claude Code."""

    attributes: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    output: str = ""


def proposed_content(tool_name: str, tool_input: Any) -> tuple[str | None, bool]:
    """(content the tool would leave in the file, whether it is the whole file)."""
    if not isinstance(tool_input, dict):
        return None, False
    if tool_name == "Write":
        content = tool_input.get("content")
        return (content, True) if isinstance(content, str) else (None, False)
    path = payload.file_path_of(tool_input)
    whole = bool(path) and Path(path).is_file()
    code = payload.resulting_code(tool_name, tool_input, None, applied=False, limit=1 << 20)
    return code, whole


def _run_ruff(content: str, path: str, cwd: str, timeout_s: float) -> list[Finding]:
    from ruff.__main__ import find_ruff_bin

    completed = subprocess.run(  # ruff by absolute path, the content on stdin
        [find_ruff_bin(), "check", "--output-format=json", "--no-cache", "--exit-zero", "--stdin-filename", path, "-"],
        input=content.encode("utf-8", "replace"), capture_output=True, timeout=timeout_s, cwd=cwd, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(
            f"ruff failed ({completed.returncode}): {completed.stderr.decode(errors='replace')[:300]}"
        )
    findings = []
    for item in json.loads(completed.stdout or b"[]"):
        code = item.get("code")
        findings.append(
            Finding(
                code=str(code or "invalid-syntax"),
                message=str(item.get("message", "")),
                line=int((item.get("location") or {}).get("row") or 0),
                fixable=item.get("fix") is not None,
                syntax=code in SYNTAX_CODES,
            )
        )
    return findings


def _syntax_check(language: str, content: str, timeout_s: float) -> list[Finding]:
    """Parse errors for languages with a parser at hand (no finding when none is available)."""
    try:
        if language == "json":
            json.loads(content)
        elif language == "toml":
            import tomllib

            tomllib.loads(content)
        elif language == "yaml":
            import yaml

            list(yaml.safe_load_all(content))
        elif language == "shell":
            completed = subprocess.run(
                ["bash", "-n"], input=content.encode(), capture_output=True, timeout=timeout_s, check=False
            )  # fmt: skip
            if completed.returncode != 0:
                message = completed.stderr.decode(errors="replace").strip()[:300]
                return [Finding("syntax-error", message, syntax=True)]
    except (FileNotFoundError, ImportError):
        return []  # no bash, or no parser installed: nothing to say about syntax
    except Exception as exc:  # each parser's own error type: all mean "does not parse"
        line = getattr(exc, "lineno", 0) or getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        return [
            Finding("syntax-error", f"{type(exc).__name__}: {exc}"[:300], line=int(line or 0), syntax=True)
        ]
    return []


def _generic_checks(content: str, settings: HookSettings) -> list[Finding]:
    findings = []
    size = len(content.encode("utf-8", "replace"))
    if size > settings.max_file_bytes:
        findings.append(Finding("size", f"{size} bytes, over the {settings.max_file_bytes}-byte limit"))
    if "\x00" in content:
        findings.append(Finding("nul-byte", "the content holds NUL bytes"))
    long_lines = 0
    for number, line in enumerate(content.splitlines(), 1):
        if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======":
            findings.append(Finding("conflict-marker", "merge conflict marker", line=number))
        elif len(line) > settings.max_line_length and long_lines < 4:
            long_lines += 1
            findings.append(Finding("long-line", f"line is {len(line)} characters long", line=number))
    return findings


_PENALTY = {"size": 0.5, "nul-byte": 0.5, "conflict-marker": 0.5, "long-line": 0.05}


def score(findings: list[Finding]) -> float:
    penalty = 0.0
    for finding in findings:
        if finding.syntax:
            penalty += 1.0
        elif finding.code in _PENALTY:
            penalty += _PENALTY[finding.code]
        else:
            penalty += 0.05 if finding.fixable else 0.1
    return round(max(0.0, min(1.0, 1.0 - penalty)), 4)


def check(
    content: str, path: str, whole: bool, settings: HookSettings, cwd: str, deadline: float
) -> dict[str, Any]:
    """All checks for one file's content: findings, score and which checks ran."""
    language = language_of(path)
    findings = _generic_checks(content, settings)
    checks = ["size", "nul-byte", "conflict-markers", "line-length"]
    remaining = max(deadline - time.monotonic(), 0.05)
    if whole and language == "python":
        findings += _run_ruff(content, path or "file.py", cwd, remaining)
        checks.append("ruff")
    elif whole and language in ("json", "toml", "yaml", "shell"):
        findings += _syntax_check(language, content, remaining)
        checks.append(f"{language}-syntax")
    return {"language": language, "findings": findings, "checks": checks, "score": score(findings)}


def _reason(findings: list[Finding], value: float, settings: HookSettings) -> str:
    lines = [f"Quality score {value:.2f} is below {settings.min_score:.2f}:"]
    for finding in findings[:10]:
        where = f" (line {finding.line})" if finding.line else ""
        fix = " [fixable]" if finding.fixable else ""
        lines.append(f"- {finding.code}: {finding.message}{where}{fix}")
    if len(findings) > 10:
        lines.append(f"- ... and {len(findings) - 10} more")
    return "\n".join(lines)


def _rag_query(tool_name: str, path: str, language: str, content: str) -> str:
    head = redact(content[:300])
    return f"{language} {tool_name} {posix_fs.basename(path)}: {head}".strip()


def enforce(
    event: dict[str, Any], settings: HookSettings, trace_id: int, hook_span_id: int, resource: dict[str, Any]
) -> Outcome:
    started = time.monotonic()
    deadline = started + settings.performance_budget_s
    enable_site_packages()  # ruff, PyYAML, httpx, the OTel SDK
    tool_name = str(event.get("tool_name") or "")
    tool_input = event.get("tool_input")
    path = payload.file_path_of(tool_input)
    cwd = str(event.get("cwd") or "")
    directory = posix_fs.dirname(path) if path and Path(posix_fs.dirname(path)).is_dir() else cwd
    if not directory or not Path(directory).is_dir():
        directory = "/"
    content, whole = proposed_content(tool_name, tool_input)
    results: dict[str, Any] = {"tool": tool_name, "file_path": path, "mode": settings.enforcement_mode}
    if content is None:
        results.update(skipped="no content to check")
        return Outcome(
            attributes={sc.QUALITY_PERFORMED: False, sc.QUALITY_RESULTS: json.dumps(results)},
            summary={"performed": False},
        )
    checked = check(content, path, whole, settings, directory, deadline)
    findings: list[Finding] = checked["findings"]
    value: float = checked["score"]
    fixable = [f for f in findings if f.fixable]
    results.update(
        language=checked["language"],
        whole_file=whole,
        checks=checked["checks"],
        quality_score=value,
        violations_found=len(findings),
        syntax_ok=not any(f.syntax for f in findings),
        corrections_available=len(fixable),
        corrections_applied=0,
        violations=[f.as_dict() for f in findings[:MAX_REPORTED]],
        corrections=[{"code": f.code, "message": f.message, "line": f.line} for f in fixable[:MAX_REPORTED]],
    )
    attributes: dict[str, Any] = {}
    if settings.rag_enabled and time.monotonic() < deadline:
        from traceability.hooks.rag import query_rag

        rag = query_rag(
            settings,
            _rag_query(tool_name, path, checked["language"], content),
            trace_id,
            hook_span_id,
            resource,
            {sc.SPAN_TYPE: sc.SPAN_TYPE_RAG, sc.SESSION_ID: str(event.get("session_id") or "")},
        )
        attributes[sc.RAG_PERFORMED] = True
        attributes[sc.RAG_RESULTS] = json.dumps(rag)
        if rag.get("success"):
            attributes[sc.RAG_MATCHES] = int(rag.get("matches") or 0)
            if rag.get("confidence") is not None:
                attributes[sc.RAG_CONFIDENCE] = float(rag["confidence"])
            if rag.get("top_pattern"):
                attributes[sc.RAG_TOP_PATTERN] = str(rag["top_pattern"])
        else:
            attributes[sc.RAG_ERROR] = str(rag.get("error", ""))[:500]
    elif settings.rag_enabled:
        attributes[sc.RAG_PERFORMED] = False
        attributes[sc.RAG_RESULTS] = json.dumps({"performed": False, "skipped": "performance budget spent"})
    deny = settings.enforcement_mode == "block" and value < settings.min_score
    decision = "deny" if deny else "allow"
    results["decision"] = decision
    results["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
    results["budget_exceeded"] = time.monotonic() > deadline
    output = ""
    if deny:
        reason = _reason(findings, value, settings)
        results["reason"] = reason
        output = json.dumps(
            {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                    "permissionDecisionReason": reason}}
        )  # fmt: skip
    elif findings:
        context = f"Quality check of {path or tool_name}: score {value:.2f}, {len(findings)} finding(s).\n"
        context += "\n".join(
            f"- {f.code}: {f.message}" + (f" (line {f.line})" if f.line else "") for f in findings[:10]
        )
        output = json.dumps(
            {"hookSpecificOutput": {"hookEventName": "PreToolUse", "additionalContext": context}}
        )
    attributes.update(
        {
            sc.QUALITY_PERFORMED: True,
            sc.QUALITY_RESULTS: json.dumps(results),
            sc.QUALITY_SCORE: value,
            sc.QUALITY_VIOLATIONS: len(findings),
            sc.QUALITY_CORRECTIONS: len(fixable),
            sc.QUALITY_DECISION: decision,
        }
    )
    if deny:
        attributes[sc.STATUS] = sc.STATUS_BLOCKED
        attributes[sc.SUCCESS] = True  # the hook did its job; the tool is what was blocked
    fs.log(
        settings,
        fs.INFO,
        f"quality {tool_name} {path}: score={value} findings={len(findings)} decision={decision}",
    )
    return Outcome(
        attributes=attributes,
        summary={"performed": True, "score": value, "decision": decision, "violations": len(findings)},
        output=output,
    )
