"""Hook settings: ``~/.claude/hooks/config.yaml`` (its sections are shown in
otel-config/hooks-config.example.yaml), overridden by ``TRACEABILITY_*`` variables (Claude Code strips ``OTEL_*`` from hooks).

Parsing YAML needs PyYAML (site-packages, ``re``: ~30 ms), so the parsed file is cached as JSON in
the state directory, keyed by the file's (mtime, size, inode); a hook re-parses only after an edit.
"""

from __future__ import annotations

from traceability.instrumentation import otlp_json, posix_fs
from traceability.instrumentation.env import (
    CAPTURE_PROMPTS_ENV,
    ENFORCEMENT_ENABLED_ENV,
    ENFORCEMENT_MODE_ENV,
    FSYNC_ENV,
    HOOK_CONFIG_ENV,
    HOOK_DEADLINE_MS_ENV,
    HOOK_ENABLED_ENV,
    HOOK_LOG_DIR_ENV,
    HOOK_LOG_LEVEL_ENV,
    RAG_ENABLED_ENV,
    RAG_URL_ENV,
    SERVICE_NAME_ENV,
    SPOOL_DIR_ENV,
    STATE_DIR_ENV,
    USER_ID_ENV,
    env_bool,
    env_float,
    env_str,
    parse_bool,
)
from traceability.instrumentation.semconv import ENFORCED_TOOLS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CACHE_NAME = "config-cache.json"
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30, "ERROR": 40, "CRITICAL": 50}


def default_config_path() -> str:
    return env_str(HOOK_CONFIG_ENV) or posix_fs.join(posix_fs.home(), ".claude", "hooks", "config.yaml")


def default_state_dir() -> str:
    return env_str(STATE_DIR_ENV) or posix_fs.join(posix_fs.state_home(), "traceability", "hooks")


def default_spool_dir() -> str:
    """Same resolution as ``instrumentation.spool.default_spool_dir`` (a test checks they agree); the
    hook does not load that module for this one line."""
    return env_str(SPOOL_DIR_ENV) or posix_fs.join(posix_fs.state_home(), "traceability", "spool")


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    return value if isinstance(value, dict) else {}


def _bool(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        parsed = parse_bool(value)
        return default if parsed is None else parsed
    if isinstance(value, int | float):
        return bool(value)
    return default


def _number(value: Any, default: float, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        number = float(value)
    except ValueError:
        return default
    if number != number:
        return default
    return min(max(number, low), high)


def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value else default


class HookSettings:
    """Everything a hook run needs, resolved once: environment, else config file, else default."""

    def __init__(self, raw: dict[str, Any] | None = None, *, config_path: str = "", config_error: str = ""):
        raw = raw if isinstance(raw, dict) else {}
        ours = _section(raw, "traceability")
        enforcement = _section(raw, "enforcement")
        rag = _section(raw, "rag")
        logging = _section(raw, "logging")
        self.config_path = config_path
        self.config_error = config_error

        # bad values in the environment are reported here; hooks/main.py logs them once settings exist
        self.warnings: list[str] = []
        warn = self.warnings.append
        self.enabled = env_bool(HOOK_ENABLED_ENV, _bool(ours.get("enabled"), True), warn=warn)
        self.state_dir = (
            env_str(STATE_DIR_ENV)
            or posix_fs.expand_user(_text(ours.get("state_dir"), ""))
            or default_state_dir()
        )
        self.spool_dir = (
            env_str(SPOOL_DIR_ENV)
            or posix_fs.expand_user(_text(ours.get("spool_dir"), ""))
            or default_spool_dir()
        )
        self.service_name = env_str(SERVICE_NAME_ENV) or _text(ours.get("service_name"), "claude-code-hooks")
        self.capture_prompts = env_bool(
            CAPTURE_PROMPTS_ENV, _bool(ours.get("capture_prompts"), False), warn=warn
        )
        self.fsync = env_bool(FSYNC_ENV, _bool(ours.get("fsync"), False), warn=warn)
        self.user_id = env_str(USER_ID_ENV) or _text(ours.get("user_id"), "")
        self.max_code_bytes = int(_number(ours.get("max_code_bytes"), 64 * 1024, 0, 16 * 1024 * 1024))
        self.max_string_chars = int(_number(ours.get("max_string_chars"), 2048, 64, 1024 * 1024))
        self.max_json_chars = int(_number(ours.get("max_json_chars"), 16 * 1024, 256, 4 * 1024 * 1024))
        # past this a run writes a minimal span and exits (Claude Code kills a hook after its timeout)
        deadline_ms = _number(ours.get("deadline_ms"), 5000.0, 1.0, 600_000.0)
        self.deadline_s = (
            env_float(HOOK_DEADLINE_MS_ENV, deadline_ms, minimum=1.0, maximum=600_000.0, warn=warn) / 1000
        )

        self.enforcement_enabled = env_bool(
            ENFORCEMENT_ENABLED_ENV, _bool(enforcement.get("enabled"), False), warn=warn
        )
        mode = (env_str(ENFORCEMENT_MODE_ENV) or _text(enforcement.get("mode"), "warn")).strip().lower()
        self.enforcement_mode = mode if mode in ("warn", "block") else "warn"
        self.performance_budget_s = _number(enforcement.get("performance_budget_seconds"), 2.0, 0.05, 600.0)
        tools = enforcement.get("intercept_tools")
        self.intercept_tools: tuple[str, ...] = (
            tuple(t for t in tools if isinstance(t, str)) if isinstance(tools, list) else ENFORCED_TOOLS
        )
        self.min_score = _number(enforcement.get("min_score"), 0.7, 0.0, 1.0)
        self.max_file_bytes = int(_number(enforcement.get("max_file_bytes"), 1024 * 1024, 1, 1 << 40))
        self.max_line_length = int(_number(enforcement.get("max_line_length"), 400, 1, 1 << 20))

        rag_url = env_str(RAG_URL_ENV)
        self.rag_enabled = env_bool(
            RAG_ENABLED_ENV, bool(rag_url) or _bool(rag.get("enabled"), False), warn=warn
        )
        self.rag_base_url = (rag_url or _text(rag.get("base_url"), "http://localhost:8181")).rstrip("/")
        self.rag_query_path = _text(rag.get("query_path"), "/api/rag/query")
        self.rag_timeout_s = _number(rag.get("timeout_seconds"), 0.5, 0.01, 60.0)
        self.rag_match_count = int(_number(rag.get("match_count"), 5, 1, 100))

        level = (env_str(HOOK_LOG_LEVEL_ENV) or _text(logging.get("level"), "INFO")).upper()
        self.log_level = _LEVELS.get(level, 20)
        log_dir = env_str(HOOK_LOG_DIR_ENV) or posix_fs.join(posix_fs.home(), ".claude", "hooks", "logs")
        self.log_file = posix_fs.expand_user(
            _text(logging.get("file"), posix_fs.join(log_dir, "quality_enforcer.log"))
        )
        self.executions_log = posix_fs.expand_user(
            _text(logging.get("hook_executions_log"), posix_fs.join(log_dir, "hook_executions.log"))
        )

    def enforces(self, tool_name: str) -> bool:
        return self.enforcement_enabled and tool_name in self.intercept_tools


def load_settings() -> HookSettings:
    """Settings for this run, re-parsing ``config.yaml`` only when it changed since the cached parse
    (hooks/settings_file.py, loaded only then)."""
    path = default_config_path()
    signature = posix_fs.stat_signature(path)
    cache_path = posix_fs.join(default_state_dir(), CACHE_NAME)
    try:
        cached = otlp_json.loads(posix_fs.read_bytes(cache_path).decode("utf-8"))
        if cached.get("path") == path and cached.get("sig") == signature:
            return HookSettings(cached.get("config"), config_path=path, config_error=cached.get("error", ""))
    except (OSError, ValueError, AttributeError):
        pass
    from traceability.hooks.settings_file import parse_and_cache

    return parse_and_cache(path, signature, cache_path)
