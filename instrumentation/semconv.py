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
SPAN_TYPE_SESSION = "session"  # the contract's name for the session root, which carries no span.type
SPAN_TYPE_RAG = "rag"  # the quality enforcer's RAG query (an HTTP client span under its hook span)

SOURCE = "traceability.source"
PROMPT_TEXT = "traceability.prompt.text"
PROMPT_LENGTH = "traceability.prompt.length"
TAGS = "traceability.tags"
CONTEXT = "traceability.context"  # JSON object
ROOT_ID = "traceability.trace.root_id"  # UUID of the outermost trace (env var ROOT_ID)
PARENT_ID = "traceability.trace.parent_id"  # UUID of the parent trace (env var PARENT_ID)
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


# --- Claude Code's own telemetry (CLAUDE_CODE_ENABLE_TELEMETRY): names as Claude Code sends them ---
CC_TRACING_SCOPE = "com.anthropic.claude_code.tracing"  # scope of its spans
CC_EVENTS_SCOPE = "com.anthropic.claude_code.events"  # scope of its log events
CC_SPAN_NAME_PREFIX = "claude_code."  # claude_code.interaction, claude_code.tool, ...
CC_SPAN_TYPE = "span.type"  # interaction | llm_request | tool | tool.blocked_on_user | tool.execution
CC_SPAN_INTERACTION = "interaction"
CC_SPAN_LLM_REQUEST = "llm_request"
CC_SPAN_TOOL = "tool"
CC_SPAN_BLOCKED_ON_USER = "tool.blocked_on_user"
CC_SPAN_TOOL_EXECUTION = "tool.execution"
CC_EVENT_NAME = "event.name"
CC_EVENT_SEQUENCE = "event.sequence"
CC_EVENT_TIMESTAMP = "event.timestamp"
CC_TOOL_USE_ID = "tool_use_id"
CC_TOOL_NAME = "tool_name"
CC_MODEL = "model"
CC_INPUT_TOKENS = "input_tokens"
CC_OUTPUT_TOKENS = "output_tokens"
CC_CACHE_READ_TOKENS = "cache_read_tokens"
CC_CACHE_CREATION_TOKENS = "cache_creation_tokens"
CC_COST_USD = "cost_usd"
CC_DURATION_MS = "duration_ms"
CC_TTFT_MS = "ttft_ms"
CC_REQUEST_ID = "request_id"
CC_ERROR = "error"
CC_STATUS_CODE = "status_code"
CC_SUCCESS = "success"
CC_DECISION = "decision"
CC_DECISION_SOURCE = "source"
CC_HOOK_EVENT = "hook_event"
CC_HOOK_NAME = "hook_name"
CC_HOOK_TOTAL_DURATION_MS = "total_duration_ms"
CC_NUM_HOOKS = "num_hooks"
CC_FILE_PATH = "file_path"  # on a claude_code.tool span of a file tool (Read, Write, Edit, ...)
CC_FULL_COMMAND = "full_command"  # on a claude_code.tool span of Bash
CC_PROMPT = "prompt"  # user_prompt: the text (``<REDACTED>`` unless OTEL_LOG_USER_PROMPTS=1)
CC_PROMPT_TEXT = "prompt_text"
CC_USER_PROMPT = "user_prompt"  # the same text on the interaction span
# event names (attribute event.name; the log body is "claude_code.<name>")
CC_EVENT_USER_PROMPT = "user_prompt"
CC_EVENT_API_REQUEST = "api_request"
CC_EVENT_API_ERROR = "api_error"
CC_EVENT_TOOL_DECISION = "tool_decision"
CC_EVENT_TOOL_RESULT = "tool_result"
CC_EVENT_HOOK_EXECUTION_COMPLETE = "hook_execution_complete"
CC_REDACTED_PLACEHOLDER = "<REDACTED>"  # what Claude Code sends instead of text it does not log

# --- where the work happened: git context of the hook's cwd (OTel vcs.* names where they exist) ---
VCS_REPOSITORY_NAME = "vcs.repository.name"
VCS_REPOSITORY_URL_FULL = "vcs.repository.url.full"  # the origin remote, credentials removed
VCS_REF_HEAD_NAME = "vcs.ref.head.name"  # the branch (absent on a detached HEAD)
VCS_REF_HEAD_TYPE = "vcs.ref.head.type"  # branch
VCS_REF_HEAD_REVISION = "vcs.ref.head.revision"  # the HEAD commit
VCS_REF_TYPE_BRANCH = "branch"
VCS_REPOSITORY_ROOT = "traceability.vcs.repository.root"  # the main working tree's directory
VCS_WORKTREE = "traceability.vcs.worktree"  # a linked worktree's directory (git worktree add)


# --- values of gen_ai.tool.name and traceability.code.language: the code-writing tools and the
# file-extension -> language table, one spelling for the hook (what it records as traceability.code.*),
# the quality enforcer (what it checks) and the pattern deriver (which tool spans it reads) ---
# Tools whose use writes code: their tool spans carry the code they produced (docs/span-contract.md)
# and the pattern deriver reads them back. A tuple in this order: the deriver's SQL spells it as the
# predicate of its partial index (migration 0012).
CODE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")
# What the quality enforcer checks by default: the code tools whose result is a source file
# (a NotebookEdit changes one cell of a JSON notebook, which the linters do not read).
ENFORCED_TOOLS = ("Write", "Edit", "MultiEdit")

LANGUAGES = {
    "py": "python", "pyi": "python", "js": "javascript", "mjs": "javascript", "cjs": "javascript",
    "jsx": "javascript", "ts": "typescript", "tsx": "typescript", "mts": "typescript", "go": "go",
    "rs": "rust", "java": "java", "kt": "kotlin", "rb": "ruby", "php": "php", "c": "c", "h": "c",
    "cc": "cpp", "cpp": "cpp", "hpp": "cpp", "cs": "csharp", "swift": "swift", "scala": "scala",
    "sh": "shell", "bash": "shell", "zsh": "shell", "sql": "sql", "json": "json", "yaml": "yaml",
    "yml": "yaml", "toml": "toml", "md": "markdown", "html": "html", "css": "css", "scss": "css",
    "vue": "vue", "svelte": "svelte", "lua": "lua", "r": "r", "dart": "dart", "ex": "elixir",
    "exs": "elixir", "tf": "terraform", "ipynb": "jupyter", "xml": "xml", "txt": "text",
}  # fmt: skip
UNKNOWN_LANGUAGE = "text"
_SPECIAL_NAMES = {"Dockerfile": "dockerfile", "Makefile": "makefile", ".env": "dotenv"}


def language_of(path: str) -> str:
    """The language of a file, from its name (``Dockerfile``, ``.env*``) or its extension; else "text"."""
    name = path.rpartition("/")[2]
    if name in _SPECIAL_NAMES:
        return _SPECIAL_NAMES[name]
    if name.startswith(".env"):
        return "dotenv"
    _, dot, ext = name.rpartition(".")
    return LANGUAGES.get(ext.lower(), UNKNOWN_LANGUAGE) if dot else UNKNOWN_LANGUAGE
