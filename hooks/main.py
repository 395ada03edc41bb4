"""The Claude Code hook: one process per event, stdin JSON in, spans to the spool, exit 0.

Both entry points end here: ``hooks/fast_entry.py`` (what ``traceability hooks install`` writes:
the venv's interpreter by absolute path, ``-I -S``) and the ``traceability hook`` console command.
The telemetry path imports only ``_json``, ``posix``, ``time``, ``_signal``, ``_sre`` and ``marshal``
(the redaction patterns come compiled from instrumentation/redaction/regex_cache.py) and this package
(served from one file by hooks/startup.py); the quality enforcer, RAG and YAML parsing load
site-packages when (and only when) they run.

A hook never breaks the user's session: any internal error is logged to ``quality_enforcer.log`` (hooks/fs.py) and the
process exits 0. Its time is bounded whatever the payload: strings are cut before they are redacted
(hooks/payload.py), and past ``deadline_s`` (or for stdin over ``MAX_STDIN_BYTES``) the run writes
one minimal span marked degraded instead (hooks/degraded.py). The one deliberate exception is the enforcer's block mode, which answers Claude
Code's ``permissionDecision: "deny"`` (still exit 0, as Claude Code's JSON protocol wants).
"""

from __future__ import annotations

import posix
import sys
import time

from traceability.hooks import degraded, fs
from traceability.hooks.events import EventSpans
from traceability.hooks.settings import HookSettings, load_settings
from traceability.hooks.state import SessionState
from traceability.instrumentation import otlp_json, posix_fs
from traceability.instrumentation import semconv as sc
from traceability.instrumentation.env import HOOK_NOW_NS_ENV, env_int
from traceability.instrumentation.otlp_json import encode_request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from traceability.instrumentation.env import Warn
    from traceability.instrumentation.otlp_json import LeanSpan

# The package version (pyproject.toml), written here because importlib.metadata would cost ~30 ms
# per hook run; test_defaults_agree_with_the_shared_modules (tests/hooks) keeps the two equal.
VERSION = "0.1.0"
MAX_STDIN_BYTES = 64 * 1024 * 1024


def clock_offset_ns(real_now_ns: int, warn: Warn) -> int:
    """How far this run's "now" is from the real clock: 0 unless ``TRACEABILITY_HOOK_NOW_NS`` holds
    "now" in ns since the epoch (for replays and `traceability demo`)."""
    now_ns = env_int(HOOK_NOW_NS_ENV, 0, minimum=0, warn=warn)
    return now_ns - real_now_ns if now_ns else 0


def resource_attributes(settings: HookSettings) -> dict[str, Any]:
    return {
        sc.SERVICE_NAME: settings.service_name,
        sc.SERVICE_VERSION: VERSION,
        sc.HOST_NAME: posix.uname().nodename,
    }


def write_spans(settings: HookSettings, spans: list[LeanSpan], started_ns: int) -> str:
    """One spool file (one OTLP/JSON request line) holding ``spans``; the format of instrumentation/spool.py."""
    line = encode_request(spans, resource_attributes(settings), sc.INSTRUMENTATION_SCOPE, VERSION)
    stem = f"{started_ns:020d}-{posix.getpid()}-{posix.urandom(4).hex()}"
    path = posix_fs.join(settings.spool_dir, stem + ".json")
    try:
        posix_fs.write_atomic(path, line + b"\n", fsync=settings.fsync)
    except FileNotFoundError:
        posix_fs.makedirs(settings.spool_dir)
        posix_fs.write_atomic(path, line + b"\n", fsync=settings.fsync)
    return path


def _enforce(settings: HookSettings, handler: EventSpans) -> str:
    """Run the quality enforcer (+ RAG) on a Write/Edit/MultiEdit; returns Claude Code's JSON answer."""
    from traceability.hooks.enforcer import enforce

    hook = handler.hook_span
    assert hook is not None
    outcome = enforce(handler.event, settings, hook.trace_id, hook.span_id, resource_attributes(settings))
    hook.attributes.update(outcome.attributes)
    hook.attributes[sc.HOOK_NAME] = "quality-enforcer"
    hook.attributes[sc.OPENINFERENCE_SPAN_KIND] = sc.OPENINFERENCE_KIND_GUARDRAIL
    with SessionState(settings.state_dir, handler.session_id) as state:
        tool = state.data["tools"].get(handler.tool_key)
        if tool is not None:
            tool["quality"] = outcome.summary
    return outcome.output


def handle(raw: bytes, settings: HookSettings, started_ns: int, offset_ns: int = 0) -> str:
    """Process one event; returns what to print on stdout (usually nothing)."""
    event = otlp_json.loads(raw.decode("utf-8", "replace"))
    if not isinstance(event, dict):
        raise ValueError(f"the hook input is a JSON {type(event).__name__}, not an object")
    handler = EventSpans(event, settings, started_ns)
    with SessionState(settings.state_dir, handler.session_id) as state:
        handler.apply(state.data)
    if state.problem:
        fs.log(settings, fs.WARNING, f"session {handler.session_id or '-'}: state reset ({state.problem})")
    output = ""
    if handler.event_name == "PreToolUse" and settings.enforces(handler.tool_name):
        try:
            output = _enforce(settings, handler)
        except Exception as exc:  # the enforcer failing must not fail the tool call
            fs.log_exception(settings, "quality enforcer failed", exc)
            if handler.hook_span is not None:
                handler.hook_span.attributes[sc.ERROR_MESSAGE] = f"quality enforcer failed: {exc}"[:1024]
    if handler.event_name == "SessionStart" and event.get("source") == "startup":
        from traceability.hooks.state_sweep import remove_stale

        remove_stale(settings.state_dir, time.time())
    spans = handler.finish(time.time_ns() + offset_ns)
    degraded.disarm()  # the spans are complete: writing them is not cut short (nor done twice)
    write_spans(settings, spans, started_ns)
    fs.log_execution(
        settings,
        f"event={handler.event_name} tool={handler.tool_name or '-'} session={handler.session_id or '-'} "
        f"spans={len(spans)} ms={(time.time_ns() + offset_ns - started_ns) / 1e6:.2f}",
    )
    return output


def _write_degraded(
    settings: HookSettings, exc: Exception, raw: bytes, started_ns: int, offset_ns: int
) -> None:
    """The minimal span of a run cut short; any failure here is only logged."""
    try:
        from traceability.hooks.degraded_span import fields_of, minimal_span

        reason = sc.DEGRADED_TOO_LARGE if isinstance(exc, degraded.PayloadTooLarge) else sc.DEGRADED_DEADLINE
        span = minimal_span(fields_of(raw), reason, started_ns, time.time_ns() + offset_ns)
        write_spans(settings, [span], started_ns)
        fs.log(settings, fs.WARNING, f"hook degraded ({reason}): {exc}; a minimal span was written")
    except Exception as inner:
        fs.log_exception(settings, "hook degraded, and writing its minimal span failed", inner)


def main(started_ns: int | None = None) -> int:
    """Read one event from stdin, record it, print any decision; always exit 0."""
    started = started_ns or time.time_ns()
    warnings: list[str] = []  # logged once the settings say where
    offset = clock_offset_ns(started, warnings.append)
    started += offset
    settings: HookSettings | None = None
    output = ""
    raw = b""
    try:
        try:
            settings = load_settings()
            for message in (*warnings, *settings.warnings):
                fs.log(settings, fs.WARNING, message)
            if not settings.enabled:
                return 0
            raw = posix_fs.read_fd(0, MAX_STDIN_BYTES + 1)  # bounded by the cap (~50 ms for 64 MiB)
            if len(raw) > MAX_STDIN_BYTES:
                raise degraded.PayloadTooLarge(raw[: degraded.HEAD_BYTES])
            degraded.arm(settings.deadline_s)
            output = handle(raw, settings, started, offset)
        finally:
            degraded.disarm()
    except (degraded.DeadlineExceeded, degraded.PayloadTooLarge) as exc:
        output = ""
        _write_degraded(settings or HookSettings(), exc, raw, started, offset)
    except Exception as exc:  # never fail the user's session: log and exit 0
        try:  # noqa: SIM105 - contextlib costs the hook ~1 ms to import
            fs.log_exception(settings or HookSettings(), "hook failed", exc)
        except Exception:
            pass
    if output:
        try:
            sys.stdout.write(output)
            sys.stdout.flush()
        except OSError:
            pass
    return 0
