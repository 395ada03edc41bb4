"""The span contract as data: per span type, its name, parent, and required and optional attributes.

docs/span-contract.md is the prose of this table (and says which rows and columns each span becomes);
tests/instrumentation/test_span_contract.py runs every producer's spans through ``violations``: the
hook's lean path, ``ExecutionTracer`` and its SDK exporters. Nothing on the hook's hot path imports
this module (the hook spells its attributes from ``semconv`` directly).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from traceability.instrumentation import semconv as sc

# The session root is the one span without traceability.span.type (see docs/span-contract.md): the
# contract names it by its span name.
SESSION = sc.SPAN_TYPE_SESSION
IDS = frozenset({sc.SESSION_ID, sc.PROMPT_ID, sc.USER_ID})
QUALITY = frozenset(
    {sc.QUALITY_PERFORMED, sc.QUALITY_RESULTS, sc.QUALITY_SCORE, sc.QUALITY_VIOLATIONS,
     sc.QUALITY_CORRECTIONS, sc.QUALITY_DECISION}
)  # fmt: skip
RAG = frozenset(
    {sc.RAG_PERFORMED, sc.RAG_RESULTS, sc.RAG_MATCHES, sc.RAG_CONFIDENCE, sc.RAG_TOP_PATTERN, sc.RAG_ERROR}
)
# the git context of the hook's cwd (hooks/git_context.py), on hook spans
VCS = frozenset(
    {sc.VCS_REPOSITORY_NAME, sc.VCS_REPOSITORY_URL_FULL, sc.VCS_REF_HEAD_NAME, sc.VCS_REF_HEAD_TYPE,
     sc.VCS_REF_HEAD_REVISION, sc.VCS_REPOSITORY_ROOT, sc.VCS_WORKTREE}
)  # fmt: skip
CODE = frozenset({sc.CODE_CONTENT, sc.CODE_LANGUAGE, sc.CODE_TRUNCATED, sc.CODE_ORIGINAL_SIZE})
ERROR = frozenset({sc.ERROR_MESSAGE, sc.ERROR_TYPE, sc.ERROR_STACK})
# The OTel HTTP client conventions opentelemetry-instrumentation-httpx writes on the RAG span
# (current and pre-1.21 names alike, as the library's semconv opt-in decides).
HTTP_CLIENT_PREFIXES = ("http.", "url.", "server.", "network.", "net.", "user_agent.")


@dataclass(frozen=True)
class SpanType:
    """One span type of the contract. ``fixed``: attributes whose value the contract fixes (one of)."""

    key: str  # traceability.span.type value (the session root: its contract name, not an attribute)
    name: str  # the span name, or its prefix followed by a space
    parent: str  # what the parent span is, in words (docs/span-contract.md)
    table: str  # execution_traces | hook_executions
    required: frozenset[str]
    optional: frozenset[str]
    fixed: Mapping[str, frozenset[object]] = field(default_factory=dict)
    foreign_prefixes: tuple[str, ...] = ()  # attribute namespaces another library writes

    def known(self, attribute: str) -> bool:
        return (
            attribute in self.required
            or attribute in self.optional
            or attribute.startswith(self.foreign_prefixes)
        )


TURN = SpanType(
    key=sc.SPAN_TYPE_TURN,
    name=sc.SPAN_NAME_TURN,
    parent="none (ExecutionTracer: the $TRACEPARENT span when it is in the same trace)",
    table="execution_traces",
    required=frozenset(
        {sc.SPAN_TYPE, sc.OPENINFERENCE_SPAN_KIND, sc.SOURCE, sc.ROOT_ID, sc.TRACE_STATUS, sc.SUCCESS}
    ),
    optional=IDS
    | {
        sc.EXECUTION_ORDER,
        sc.PARENT_ID,
        sc.PROMPT_TEXT,
        sc.PROMPT_LENGTH,
        sc.TAGS,
        sc.CONTEXT,
        sc.ERROR_TYPE,
    },
    fixed={
        sc.SPAN_TYPE: frozenset({sc.SPAN_TYPE_TURN}),
        sc.OPENINFERENCE_SPAN_KIND: frozenset({sc.OPENINFERENCE_KIND_AGENT}),
    },
)
SESSION_ROOT = SpanType(
    key=SESSION,
    name=sc.SPAN_NAME_SESSION,
    parent="none",
    table="execution_traces",
    required=frozenset({sc.SOURCE, sc.EXECUTION_ORDER, sc.TAGS, sc.CONTEXT, sc.TRACE_STATUS, sc.SUCCESS}),
    optional=frozenset({sc.SESSION_ID, sc.USER_ID}),
)
TOOL = SpanType(
    key=sc.SPAN_TYPE_TOOL,
    name=sc.SPAN_NAME_EXECUTE_TOOL_PREFIX + " ",
    parent="the turn's root, or the subagent span it ran in",
    table="hook_executions",
    required=frozenset(
        {sc.SPAN_TYPE, sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_TOOL_NAME, sc.OPENINFERENCE_SPAN_KIND,
         sc.EXECUTION_ORDER, sc.STATUS, sc.SUCCESS}
    ),
    optional=IDS | QUALITY | CODE | ERROR
    | {sc.GEN_AI_TOOL_CALL_ID, sc.GEN_AI_AGENT_ID, sc.GEN_AI_AGENT_NAME, sc.CODE_FILE_PATH, sc.TOOL_BLOCKED,
       sc.INPUT_DATA, sc.OUTPUT_DATA, sc.DURATION_MS, sc.METADATA},
    fixed={
        sc.SPAN_TYPE: frozenset({sc.SPAN_TYPE_TOOL}),
        sc.GEN_AI_OPERATION_NAME: frozenset({sc.OPERATION_EXECUTE_TOOL}),
        sc.OPENINFERENCE_SPAN_KIND: frozenset({sc.OPENINFERENCE_KIND_TOOL}),
    },
)  # fmt: skip
SUBAGENT = SpanType(
    key=sc.SPAN_TYPE_SUBAGENT,
    name=sc.SPAN_NAME_SUBAGENT_PREFIX + " ",
    parent="the Agent/Task tool span that spawned it (else the turn's root)",
    table="hook_executions",
    required=frozenset(
        {sc.SPAN_TYPE, sc.GEN_AI_OPERATION_NAME, sc.OPENINFERENCE_SPAN_KIND, sc.GEN_AI_AGENT_ID,
         sc.EXECUTION_ORDER, sc.STATUS, sc.SUCCESS}
    ),
    optional=IDS | {sc.GEN_AI_AGENT_NAME, sc.GEN_AI_TOOL_CALL_ID},
    fixed={
        sc.SPAN_TYPE: frozenset({sc.SPAN_TYPE_SUBAGENT}),
        sc.GEN_AI_OPERATION_NAME: frozenset({sc.OPERATION_INVOKE_AGENT}),
        sc.OPENINFERENCE_SPAN_KIND: frozenset({sc.OPENINFERENCE_KIND_AGENT}),
    },
)  # fmt: skip
HOOK = SpanType(
    key=sc.SPAN_TYPE_HOOK,
    name=sc.SPAN_NAME_HOOK_PREFIX + " ",
    parent="the tool, subagent or turn the event belongs to; the session root outside any turn",
    table="hook_executions",
    required=frozenset(
        {sc.SPAN_TYPE, sc.HOOK_TYPE, sc.HOOK_NAME, sc.OPENINFERENCE_SPAN_KIND, sc.STATUS, sc.SUCCESS}
    ),
    optional=IDS | QUALITY | RAG | ERROR | VCS
    | {sc.EXECUTION_ORDER, sc.GEN_AI_TOOL_NAME, sc.GEN_AI_TOOL_CALL_ID, sc.GEN_AI_AGENT_ID,
       sc.GEN_AI_AGENT_NAME, sc.CODE_FILE_PATH, sc.PERMISSION_MODE, sc.INPUT_DATA, sc.OUTPUT_DATA,
       sc.MODIFICATIONS, sc.METADATA, sc.HOOK_DEGRADED, sc.HOOK_DEGRADED_REASON},
    fixed={
        sc.SPAN_TYPE: frozenset({sc.SPAN_TYPE_HOOK}),
        sc.OPENINFERENCE_SPAN_KIND: frozenset(
            {sc.OPENINFERENCE_KIND_CHAIN, sc.OPENINFERENCE_KIND_GUARDRAIL, sc.OPENINFERENCE_KIND_RETRIEVER}
        ),
    },
)  # fmt: skip
RAG_QUERY = SpanType(
    key=sc.SPAN_TYPE_RAG,
    name="POST",  # the httpx instrumentation names it by the HTTP method
    parent="the quality enforcer's hook span (PreToolUse)",
    table="hook_executions",
    required=frozenset({sc.SPAN_TYPE}),
    optional=frozenset({sc.SESSION_ID, sc.ERROR_TYPE}),
    fixed={sc.SPAN_TYPE: frozenset({sc.SPAN_TYPE_RAG})},
    foreign_prefixes=HTTP_CLIENT_PREFIXES,
)

SPAN_TYPES: dict[str, SpanType] = {t.key: t for t in (TURN, SESSION_ROOT, TOOL, SUBAGENT, HOOK, RAG_QUERY)}


def span_type_of(name: str, attributes: Mapping[str, object]) -> SpanType | None:
    """The contract entry a span falls under: by ``traceability.span.type``, else the session root by name."""
    key = attributes.get(sc.SPAN_TYPE)
    if isinstance(key, str):
        return SPAN_TYPES.get(key)
    return SESSION_ROOT if name == sc.SPAN_NAME_SESSION else None


def violations(name: str, attributes: Mapping[str, object], has_parent: bool) -> list[str]:
    """What is wrong with one span under the contract; empty when it conforms."""
    span_type = span_type_of(name, attributes)
    if span_type is None:
        return [f"{name!r}: no span type of the contract ({sc.SPAN_TYPE}={attributes.get(sc.SPAN_TYPE)!r})"]
    found: list[str] = []
    where = f"{span_type.key} span {name!r}"
    if not name.startswith(span_type.name):
        found.append(f"{where}: the name does not start with {span_type.name!r}")
    if span_type.parent == "none" and has_parent:
        found.append(f"{where}: has a parent")
    if span_type.table == "hook_executions" and not has_parent:
        found.append(f"{where}: has no parent")
    found += [f"{where}: required {key} missing" for key in sorted(span_type.required - attributes.keys())]
    found += [f"{where}: unknown attribute {key}" for key in sorted(attributes) if not span_type.known(key)]
    for key, allowed in span_type.fixed.items():
        if key in attributes and attributes[key] not in allowed:
            found.append(f"{where}: {key}={attributes[key]!r}, not one of {sorted(map(str, allowed))}")
    return found
