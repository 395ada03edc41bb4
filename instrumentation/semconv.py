"""Every span attribute name and enumerated value used by pattern-traceability.

This module is the only place an attribute name is spelled. Standard OpenTelemetry names are
used where one exists (``session.id``, ``gen_ai.*``, ``code.file.path``, ``error.type``,
``exception.*``, ``openinference.span.kind``); everything else lives under ``traceability.*``.

It imports nothing, because the Claude Code hook imports it on its ~ms-budget path.
"""

from __future__ import annotations

# --- resource -------------------------------------------------------------------------------
SERVICE_NAME = "service.name"
SERVICE_VERSION = "service.version"
SERVICE_INSTANCE_ID = "service.instance.id"
HOST_NAME = "host.name"
DEFAULT_SERVICE_NAME = "claude-code-hooks"
INSTRUMENTATION_SCOPE = "traceability"

# --- standard span attributes -----------------------------------------------------------------
SESSION_ID = "session.id"
USER_ID = "user.id"
PROMPT_ID = "prompt.id"  # Claude Code's own telemetry uses this name for the turn's prompt id
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"  # Claude Code's tool_use_id
GEN_AI_AGENT_ID = "gen_ai.agent.id"  # Claude Code's agent_id (subagents)
GEN_AI_AGENT_NAME = "gen_ai.agent.name"  # Claude Code's agent_type
CODE_FILE_PATH = "code.file.path"
ERROR_TYPE = "error.type"
OPENINFERENCE_SPAN_KIND = "openinference.span.kind"

# exception event (OTel semantic conventions)
EXCEPTION_EVENT_NAME = "exception"
EXCEPTION_TYPE = "exception.type"
EXCEPTION_MESSAGE = "exception.message"
EXCEPTION_STACKTRACE = "exception.stacktrace"

# values
OPERATION_EXECUTE_TOOL = "execute_tool"
OPERATION_INVOKE_AGENT = "invoke_agent"
OPENINFERENCE_KIND_CHAIN = "CHAIN"
OPENINFERENCE_KIND_TOOL = "TOOL"
OPENINFERENCE_KIND_AGENT = "AGENT"
OPENINFERENCE_KIND_GUARDRAIL = "GUARDRAIL"
OPENINFERENCE_KIND_RETRIEVER = "RETRIEVER"

# --- traceability.* : span role and trace (execution_traces) fields ----------------------------
SPAN_TYPE = "traceability.span.type"
SPAN_TYPE_TURN = "turn"  # the root span of one prompt turn -> execution_traces
SPAN_TYPE_HOOK = "hook"  # one hook execution -> hook_executions
SPAN_TYPE_TOOL = "tool"  # one tool use (Pre -> Post) -> hook_executions
SPAN_TYPE_SUBAGENT = "subagent"  # a subagent's run, nested under the tool span that spawned it
SPAN_TYPE_SESSION = "session"  # session-level events outside any turn (SessionStart, SessionEnd)
SPAN_TYPE_RAG = "rag"  # the quality enforcer's RAG query (an HTTP client span under its hook span)

SOURCE = "traceability.source"
PROMPT_TEXT = "traceability.prompt.text"
PROMPT_LENGTH = "traceability.prompt.length"
TAGS = "traceability.tags"
CONTEXT = "traceability.context"  # JSON object
ROOT_ID = "traceability.trace.root_id"  # UUID of the outermost trace (seed's ROOT_ID)
PARENT_ID = "traceability.trace.parent_id"  # UUID of the parent trace (seed's PARENT_ID)
TRACE_STATUS = "traceability.trace.status"
TRACE_STATUS_IN_PROGRESS = "in_progress"
TRACE_STATUS_COMPLETED = "completed"
TRACE_STATUS_FAILED = "failed"
TRACE_STATUS_ABANDONED = "abandoned"  # a turn whose Stop never came

# --- traceability.* : hook execution (hook_executions) fields --------------------------------
HOOK_TYPE = "traceability.hook.type"  # Claude Code event name, e.g. PreToolUse
HOOK_NAME = "traceability.hook.name"
EXECUTION_ORDER = "traceability.execution_order"
SUCCESS = "traceability.success"
STATUS = "traceability.status"  # completed | failed | blocked | abandoned
STATUS_COMPLETED = "completed"
STATUS_FAILED = "failed"
STATUS_BLOCKED = "blocked"
STATUS_ABANDONED = "abandoned"
DURATION_MS = "traceability.duration_ms"  # Claude Code's duration_ms when it reported one
INPUT_DATA = "traceability.input"  # JSON
OUTPUT_DATA = "traceability.output"  # JSON
MODIFICATIONS = "traceability.modifications"  # JSON
METADATA = "traceability.metadata"  # JSON
ERROR_MESSAGE = "traceability.error.message"
ERROR_STACK = "traceability.error.stack"
TOOL_BLOCKED = "traceability.tool.blocked"
PERMISSION_MODE = "traceability.permission_mode"
# a hook run cut short (its deadline passed, or stdin over the cap): a minimal span, payload not kept
HOOK_DEGRADED = "traceability.hook.degraded"
HOOK_DEGRADED_REASON = "traceability.hook.degraded_reason"  # deadline | payload_too_large
DEGRADED_DEADLINE = "deadline"
DEGRADED_TOO_LARGE = "payload_too_large"

# quality enforcer
QUALITY_PERFORMED = "traceability.quality.performed"
QUALITY_RESULTS = "traceability.quality.results"  # JSON
QUALITY_SCORE = "traceability.quality.score"
QUALITY_VIOLATIONS = "traceability.quality.violations"
QUALITY_CORRECTIONS = "traceability.quality.corrections"
QUALITY_DECISION = "traceability.quality.decision"  # allow | deny

# RAG query
RAG_PERFORMED = "traceability.rag.performed"
RAG_RESULTS = "traceability.rag.results"  # JSON
RAG_MATCHES = "traceability.rag.matches"
RAG_CONFIDENCE = "traceability.rag.confidence"
RAG_TOP_PATTERN = "traceability.rag.top_pattern"
RAG_ERROR = "traceability.rag.error"

# code written by a tool use (for pattern derivation)
CODE_CONTENT = "traceability.code.content"
CODE_LANGUAGE = "traceability.code.language"
CODE_TRUNCATED = "traceability.code.truncated"
CODE_ORIGINAL_SIZE = "traceability.code.original_size"

# span names
SPAN_NAME_TURN = "claude_code.turn"
SPAN_NAME_SESSION = "claude_code.session"  # root of a session's events outside any turn (hooks/)
SPAN_NAME_EXECUTE_TOOL_PREFIX = "execute_tool"  # "execute_tool {tool}"
SPAN_NAME_HOOK_PREFIX = "hook"  # "hook {event}"
SPAN_NAME_SUBAGENT_PREFIX = "invoke_agent"  # "invoke_agent {agent_type}"


def execute_tool_span_name(tool_name: str) -> str:
    """The OTel GenAI span name for one tool call."""
    return f"{SPAN_NAME_EXECUTE_TOOL_PREFIX} {tool_name}"


def hook_span_name(hook_type: str) -> str:
    return f"{SPAN_NAME_HOOK_PREFIX} {hook_type}"
