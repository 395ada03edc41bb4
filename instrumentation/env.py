"""Every environment variable the project reads, named once; the one true/false rule; a light parser.

Resolution everywhere: argument, else environment variable, else default. As in the OTel SDK, a
value that is empty or only whitespace counts as unset, and a value that does not parse is logged as
a warning naming the variable and the default used, and the default is used: a typo in one
variable never stops a hook or a service. docs/settings.md lists every name (tests/settings keeps
it equal to this module).

This module is on the hook's path: it imports only the builtin ``posix`` and ``sys`` (``os`` costs
the hook ~1.3 ms, ``logging`` ~12 ms), and ``logging`` only when there is a bad value to report and
no ``warn`` callback was given. The long-lived services read the same names through
pydantic-settings (serving/service_settings.py) with the same rule.
"""

from __future__ import annotations

import posix
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    Warn = Callable[[str], None]

# --- the hook (Claude Code strips OTEL_* from hook processes) --------------------------------------
HOOK_CONFIG_ENV = "TRACEABILITY_HOOK_CONFIG"
HOOK_ENABLED_ENV = "TRACEABILITY_HOOK_ENABLED"
STATE_DIR_ENV = "TRACEABILITY_STATE_DIR"
SPOOL_DIR_ENV = "TRACEABILITY_SPOOL_DIR"  # the hook writes here, the collector drains it
CAPTURE_PROMPTS_ENV = "TRACEABILITY_CAPTURE_PROMPTS"  # the hook's and the collector's
SERVICE_NAME_ENV = "TRACEABILITY_SERVICE_NAME"
FSYNC_ENV = "TRACEABILITY_FSYNC"
USER_ID_ENV = "TRACEABILITY_USER_ID"
HOOK_DEADLINE_MS_ENV = "TRACEABILITY_HOOK_DEADLINE_MS"
HOOK_NOW_NS_ENV = "TRACEABILITY_HOOK_NOW_NS"
ENFORCEMENT_ENABLED_ENV = "TRACEABILITY_ENFORCEMENT_ENABLED"
ENFORCEMENT_MODE_ENV = "TRACEABILITY_ENFORCEMENT_MODE"
RAG_ENABLED_ENV = "TRACEABILITY_RAG_ENABLED"
RAG_URL_ENV = "TRACEABILITY_RAG_URL"
HOOK_LOG_DIR_ENV = "TRACEABILITY_HOOK_LOG_DIR"
HOOK_LOG_LEVEL_ENV = "TRACEABILITY_LOG_LEVEL"

# --- the database, the collector, both services' access and limits ---------------------------------
DB_URL_ENV = "TRACEABILITY_DB_URL"
DB_URL_EXTERNAL_ENV = "TRACEABILITY_DB_URL_EXTERNAL"  # read after TRACEABILITY_DB_URL
COLLECTOR_HOST_ENV = "TRACEABILITY_COLLECTOR_HOST"
COLLECTOR_PORT_ENV = "TRACEABILITY_COLLECTOR_PORT"
COLLECTOR_GRPC_PORT_ENV = "TRACEABILITY_COLLECTOR_GRPC_PORT"
COLLECTOR_WORKERS_ENV = "TRACEABILITY_COLLECTOR_WORKERS"
MAX_BODY_BYTES_ENV = "TRACEABILITY_MAX_BODY_BYTES"
MAX_INFLIGHT_BYTES_ENV = "TRACEABILITY_MAX_INFLIGHT_BYTES"
DRAIN_STALL_S_ENV = "TRACEABILITY_DRAIN_STALL_S"
MAX_SPAN_STORED_BYTES_ENV = "TRACEABILITY_MAX_SPAN_STORED_BYTES"
API_TOKEN_ENV = "TRACEABILITY_API_TOKEN"
AUTH_READS_ENV = "TRACEABILITY_AUTH_READS"
ALLOWED_HOSTS_ENV = "TRACEABILITY_ALLOWED_HOSTS"
HEADER_TIMEOUT_S_ENV = "TRACEABILITY_HEADER_TIMEOUT_S"
MAX_HEADER_BYTES_ENV = "TRACEABILITY_MAX_HEADER_BYTES"
MIN_BODY_RATE_BYTES_S_ENV = "TRACEABILITY_MIN_BODY_RATE_BYTES_S"
BODY_GRACE_S_ENV = "TRACEABILITY_BODY_GRACE_S"
BODY_TIMEOUT_S_ENV = "TRACEABILITY_BODY_TIMEOUT_S"
MAX_CONNECTIONS_ENV = "TRACEABILITY_MAX_CONNECTIONS"
LINGER_TIME_S_ENV = "TRACEABILITY_LINGER_TIME_S"
LINGER_IDLE_S_ENV = "TRACEABILITY_LINGER_IDLE_S"
LINGER_MAX_BYTES_ENV = "TRACEABILITY_LINGER_MAX_BYTES"

# --- the lineage API --------------------------------------------------------------------------------
API_HOST_ENV = "INTELLIGENCE_SERVICE_HOST"
API_PORT_ENV = "INTELLIGENCE_SERVICE_PORT"
API_URL_ENV = "INTELLIGENCE_SERVICE_URL"  # where clients (CLI) find the API
JAEGER_UI_URL_ENV = "JAEGER_UI_URL"
DERIVER_ENV = "TRACEABILITY_DERIVER"
DERIVER_INTERVAL_S_ENV = "TRACEABILITY_DERIVER_INTERVAL_S"
CORS_ORIGINS_ENV = "TRACEABILITY_CORS_ORIGINS"
API_MAX_BODY_BYTES_ENV = "TRACEABILITY_API_MAX_BODY_BYTES"
ANALYTICS_MIN_SAMPLE_ENV = "TRACEABILITY_ANALYTICS_MIN_SAMPLE"

# --- the commands -----------------------------------------------------------------------------------
DATA_DIR_ENV = "TRACEABILITY_DATA_DIR"
UP_HOST_ENV = "TRACEABILITY_HOST"
LOG_LEVEL_ENV = "LOG_LEVEL"  # `traceability collector` / `api`

# --- OpenTelemetry and Claude Code (standard names: read, or written into Claude Code's settings) ----
OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTLP_TRACES_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
OTLP_PROTOCOL_ENV = "OTEL_EXPORTER_OTLP_PROTOCOL"
OTLP_TRACES_PROTOCOL_ENV = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
OTEL_TRACES_EXPORTER_ENV = "OTEL_TRACES_EXPORTER"
OTEL_METRICS_EXPORTER_ENV = "OTEL_METRICS_EXPORTER"
OTEL_LOGS_EXPORTER_ENV = "OTEL_LOGS_EXPORTER"
CLAUDE_TELEMETRY_ENV = "CLAUDE_CODE_ENABLE_TELEMETRY"
CLAUDE_ENHANCED_TELEMETRY_ENV = "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA"
TRACEPARENT_ENV = "TRACEPARENT"
TRACESTATE_ENV = "TRACESTATE"
CORRELATION_ID_ENV = "CORRELATION_ID"  # ExecutionTracer's parent correlation (UUIDs)
ROOT_ID_ENV = "ROOT_ID"
PARENT_ID_ENV = "PARENT_ID"
HOME_ENV = "HOME"
XDG_STATE_HOME_ENV = "XDG_STATE_HOME"
XDG_DATA_HOME_ENV = "XDG_DATA_HOME"

# --- the tests only ---------------------------------------------------------------------------------
TEST_DSN_ENV = "TRACEABILITY_TEST_DSN"
FUZZ_EXAMPLES_ENV = "TRACEABILITY_FUZZ_EXAMPLES"
API_FUZZ_EXAMPLES_ENV = "TRACEABILITY_API_FUZZ_EXAMPLES"
CLAUDE_BIN_ENV = "TRACEABILITY_CLAUDE_BIN"
CHROMIUM_ENV = "TRACEABILITY_CHROMIUM"

# --- the one true/false rule ------------------------------------------------------------------------
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
BOOL_EXPECTED = "a boolean (true/false, 1/0, yes/no, on/off)"


def parse_bool(text: str) -> bool | None:
    """True or False for a spelling of :data:`TRUE_WORDS` / :data:`FALSE_WORDS` (any case,
    surrounding whitespace ignored); None for anything else."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def raw(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The variable's value, surrounding whitespace stripped; None when unset, empty or blank."""
    if environ is not None:
        value = environ.get(name)
    elif "os" in sys.modules:  # os.environ is live (monkeypatch, os.environ[...] = ...)
        value = sys.modules["os"].environ.get(name)
    else:  # the hook: posix.environ is the process's environment, and os is not loaded
        data = posix.environ.get(name.encode())
        value = None if data is None else data.decode("utf-8", "surrogateescape")
    if value is None:
        return None
    return value.strip() or None


def bad_value(name: str, text: str, expected: str, default: object) -> str:
    """The one warning text for a value that does not parse."""
    return f"{name}={text!r} is not {expected}; using the default {default!r}"


def _report(message: str, warn: Warn | None) -> None:
    if warn is not None:
        warn(message)
        return
    import logging

    logging.getLogger(__name__).warning(message)


def env_str(name: str, default: str = "", *, environ: Mapping[str, str] | None = None) -> str:
    value = raw(name, environ)
    return default if value is None else value


def env_list(name: str, *, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Comma-separated items, each stripped, empty ones dropped; () when unset."""
    return split_list(env_str(name, environ=environ))


def split_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def env_bool(
    name: str, default: bool, *, environ: Mapping[str, str] | None = None, warn: Warn | None = None
) -> bool:
    value = raw(name, environ)
    if value is None:
        return default
    parsed = parse_bool(value)
    if parsed is None:
        _report(bad_value(name, value, BOOL_EXPECTED, default), warn)
        return default
    return parsed


def _range(kind: str, minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum} to {maximum}"
    if minimum is not None:
        return f"{kind} >= {minimum}"
    if maximum is not None:
        return f"{kind} <= {maximum}"
    return kind


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
    warn: Warn | None = None,
) -> int:
    """An integer in [minimum, maximum] (each bound optional); otherwise the default, logged."""
    value = raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if (
        number is None
        or (minimum is not None and number < minimum)
        or (maximum is not None and number > maximum)
    ):
        _report(bad_value(name, value, _range("an integer", minimum, maximum), default), warn)
        return default
    return number


def env_float(
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    environ: Mapping[str, str] | None = None,
    warn: Warn | None = None,
) -> float:
    """A finite number in [minimum, maximum] (each bound optional); otherwise the default, logged."""
    value = raw(name, environ)
    if value is None:
        return default
    try:
        number: float | None = float(value)
    except ValueError:
        number = None
    if (
        number is None
        or number != number  # NaN
        or number in (float("inf"), float("-inf"))
        or (minimum is not None and number < minimum)
        or (maximum is not None and number > maximum)
    ):
        _report(bad_value(name, value, _range("a number", minimum, maximum), default), warn)
        return default
    return number
