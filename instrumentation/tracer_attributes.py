"""Span attributes for ``ExecutionTracer``: its methods' arguments -> semconv attribute dicts.

Pure functions (no OTel import) so the mapping from the tracer's API to the span contract
(docs/span-contract.md, ``instrumentation/span_contract.py``) is testable on its own. JSON-valued arguments become JSON strings, because
OTel attributes cannot nest; strings that cannot be UTF-8 encoded are repaired, never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from traceability.instrumentation import semconv as sc

Attributes = dict[str, str | bool | int | float | list[str]]

# (normalized fragment, hook type), checked in order; the first fragment found in the name wins.
_HOOK_TYPE_FRAGMENTS = (
    ("pretooluse", "PreToolUse"),
    ("posttooluse", "PostToolUse"),
    ("userprompt", "UserPromptSubmit"),
    ("sessionstart", "SessionStart"),
    ("sessionend", "SessionEnd"),
    ("stop", "Stop"),
)
UNKNOWN_HOOK_TYPE = "Unknown"

# Scalar fields of the quality/RAG result dicts callers pass, lifted into their own attributes.
_QUALITY_SCALARS = (
    (("quality_score", "score"), sc.QUALITY_SCORE, float),
    (("violations_found", "violations"), sc.QUALITY_VIOLATIONS, int),
    (("corrections_applied", "corrections"), sc.QUALITY_CORRECTIONS, int),
    (("decision",), sc.QUALITY_DECISION, str),
)
_RAG_SCALARS = (
    (("matches",), sc.RAG_MATCHES, int),
    (("confidence",), sc.RAG_CONFIDENCE, float),
    (("top_pattern",), sc.RAG_TOP_PATTERN, str),
    (("error",), sc.RAG_ERROR, str),
)


def infer_hook_type(hook_name: str) -> str:
    """PreToolUse, PostToolUse, UserPromptSubmit, SessionStart, SessionEnd, Stop or Unknown.

    Matches "pre-tool-use", "pre_tool_use", "PreToolUse" ... alike: case, dashes, underscores and
    spaces are ignored.
    """
    normalized = hook_name.lower().replace("-", "").replace("_", "").replace(" ", "")
    for fragment, hook_type in _HOOK_TYPE_FRAGMENTS:
        if fragment in normalized:
            return hook_type
    return UNKNOWN_HOOK_TYPE


def clean_str(value: str) -> str:
    """``value`` with lone surrogates replaced, so the OTLP encoder keeps the attribute."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def to_json(value: Any) -> str:
    """A JSON-valued attribute: compact JSON text; values JSON cannot hold become their str()."""
    return clean_str(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))


def _lift(results: Mapping[str, Any], scalars: Sequence[tuple[tuple[str, ...], str, type]]) -> Attributes:
    lifted: Attributes = {}
    for names, key, kind in scalars:
        for name in names:
            value = results.get(name)
            if isinstance(value, bool) or value is None:
                continue
            if kind is str and isinstance(value, str):
                lifted[key] = clean_str(value)
            elif kind is int and isinstance(value, int):
                lifted[key] = value
            elif kind is float and isinstance(value, int | float):
                lifted[key] = float(value)
            else:
                continue
            break
    return lifted


def exception_type_name(error: BaseException) -> str:
    """The exception's type as OTel's ``record_exception`` writes it (``module.QualName``, builtins bare)."""
    module = type(error).__module__
    qualname = type(error).__qualname__
    return f"{module}.{qualname}" if module and module != "builtins" else qualname


def turn_attributes(
    *,
    source: str,
    prompt_text: str | None,
    session_id: str | None,
    root_id: str,
    parent_id: str | None,
    user_id: str | None,
    context: Mapping[str, Any] | None,
    tags: Sequence[str] | None,
) -> Attributes:
    """Attributes of a turn's root span (-> one ``execution_traces`` row)."""
    attrs: Attributes = {
        sc.SPAN_TYPE: sc.SPAN_TYPE_TURN,
        # AGENT, as the hook's turn: a turn is Claude Code acting as an agent (docs/span-contract.md)
        sc.OPENINFERENCE_SPAN_KIND: sc.OPENINFERENCE_KIND_AGENT,
        sc.SOURCE: clean_str(source),
        sc.ROOT_ID: root_id,
        sc.TRACE_STATUS: sc.TRACE_STATUS_IN_PROGRESS,
    }
    if prompt_text is not None:
        attrs[sc.PROMPT_TEXT] = clean_str(prompt_text)
        attrs[sc.PROMPT_LENGTH] = len(prompt_text)
    if session_id:
        attrs[sc.SESSION_ID] = clean_str(session_id)
    if parent_id:
        attrs[sc.PARENT_ID] = parent_id
    if user_id:
        attrs[sc.USER_ID] = clean_str(user_id)
    if context is not None:
        attrs[sc.CONTEXT] = to_json(context)
    if tags:
        attrs[sc.TAGS] = [clean_str(str(tag)) for tag in tags]
    return attrs


def hook_attributes(
    *,
    hook_name: str,
    hook_type: str | None,
    execution_order: int,
    tool_name: str | None,
    success: bool,
    session_id: str | None,
    file_path: str | None,
    input_data: Any,
    output_data: Any,
    modifications_made: Any,
    metadata: Any,
    quality_check_performed: bool,
    quality_results: Mapping[str, Any] | None,
    quality_score: float | None,
    rag_query_performed: bool,
    rag_results: Mapping[str, Any] | None,
    error: BaseException | None,
) -> Attributes:
    """Attributes of one hook execution span (-> one ``hook_executions`` row)."""
    if quality_check_performed:
        kind = sc.OPENINFERENCE_KIND_GUARDRAIL
    elif rag_query_performed:
        kind = sc.OPENINFERENCE_KIND_RETRIEVER
    else:
        kind = sc.OPENINFERENCE_KIND_CHAIN
    attrs: Attributes = {
        sc.SPAN_TYPE: sc.SPAN_TYPE_HOOK,
        sc.OPENINFERENCE_SPAN_KIND: kind,
        sc.HOOK_TYPE: clean_str(hook_type or infer_hook_type(hook_name)),
        sc.HOOK_NAME: clean_str(hook_name),
        sc.EXECUTION_ORDER: execution_order,
        sc.SUCCESS: success,
        sc.STATUS: sc.STATUS_COMPLETED if success else sc.STATUS_FAILED,
        sc.QUALITY_PERFORMED: quality_check_performed,
        sc.RAG_PERFORMED: rag_query_performed,
    }
    optional_text = {sc.GEN_AI_TOOL_NAME: tool_name, sc.SESSION_ID: session_id, sc.CODE_FILE_PATH: file_path}
    for key, text in optional_text.items():
        if text:
            attrs[key] = clean_str(text)
    optional_json = {
        sc.INPUT_DATA: input_data,
        sc.OUTPUT_DATA: output_data,
        sc.MODIFICATIONS: modifications_made,
        sc.METADATA: metadata,
        sc.QUALITY_RESULTS: quality_results,
        sc.RAG_RESULTS: rag_results,
    }
    for key, value in optional_json.items():
        if value is not None:
            attrs[key] = to_json(value)
    if quality_results is not None:
        attrs.update(_lift(quality_results, _QUALITY_SCALARS))
    if rag_results is not None:
        attrs.update(_lift(rag_results, _RAG_SCALARS))
    if quality_score is not None:
        attrs[sc.QUALITY_SCORE] = float(quality_score)
    if error is not None:
        attrs[sc.ERROR_TYPE] = exception_type_name(error)
    return attrs
