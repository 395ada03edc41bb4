"""The ``env`` block of Claude Code's settings.json that turns on its own OpenTelemetry, pointed at our collector.

``install_env`` sets our variables and remembers, in a sidecar file next to settings.json, any
value the user had there before; ``uninstall_env`` removes our variables (only where they still hold
the value we wrote) and puts the user's earlier values back. Both are idempotent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from traceability.instrumentation.env import (
    CLAUDE_ENHANCED_TELEMETRY_ENV,
    CLAUDE_TELEMETRY_ENV,
    OTEL_LOGS_EXPORTER_ENV,
    OTEL_METRICS_EXPORTER_ENV,
    OTEL_TRACES_EXPORTER_ENV,
    OTLP_ENDPOINT_ENV,
    OTLP_PROTOCOL_ENV,
    parse_bool,
)

PROTOCOLS = ("http/protobuf", "http/json")
DEFAULT_ENDPOINT = "http://127.0.0.1:4318"
SIDECAR_SUFFIX = ".traceability-env.json"


def telemetry_env(endpoint: str = DEFAULT_ENDPOINT, protocol: str = "http/protobuf") -> dict[str, str]:
    """What Claude Code needs to export metrics, log events and (beta) spans over OTLP/HTTP."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    return {
        CLAUDE_TELEMETRY_ENV: "1",
        CLAUDE_ENHANCED_TELEMETRY_ENV: "1",  # spans (claude_code.interaction, ...)
        OTEL_METRICS_EXPORTER_ENV: "otlp",
        OTEL_LOGS_EXPORTER_ENV: "otlp",
        OTEL_TRACES_EXPORTER_ENV: "otlp",
        OTLP_PROTOCOL_ENV: protocol,
        OTLP_ENDPOINT_ENV: endpoint.rstrip("/"),
    }


def sidecar_path(settings: Path) -> Path:
    return settings.with_name(settings.name + SIDECAR_SUFFIX)


def _sidecar(settings: Path) -> dict[str, Any]:
    path = sidecar_path(settings)
    if not path.exists():
        return {"written": {}, "previous": {}}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {"written": {}, "previous": {}}


def install_env(data: dict[str, Any], settings: Path, wanted: dict[str, str]) -> tuple[bool, dict[str, Any]]:
    """Set ``wanted`` in ``data['env']``; returns (changed, sidecar content to save)."""
    env = data.get("env")
    env = dict(env) if isinstance(env, dict) else {}
    state = _sidecar(settings)
    written: dict[str, str] = dict(state.get("written", {}))
    previous: dict[str, Any] = dict(state.get("previous", {}))
    for key, value in wanted.items():
        current = env.get(key)
        if key not in written and current is not None and current != value:
            previous[key] = current  # the user's own value, put back by uninstall
        env[key] = value
        written[key] = value
    for key in [k for k in written if k not in wanted]:  # a variable an earlier install wrote
        if env.get(key) == written.pop(key):
            env.pop(key, None)
            if key in previous:
                env[key] = previous.pop(key)
    changed = env != data.get("env")
    if changed:
        data["env"] = env
    return changed, {"written": written, "previous": previous}


def uninstall_env(data: dict[str, Any], settings: Path) -> bool:
    """Remove what ``install_env`` wrote (where unchanged since) and restore earlier values."""
    state = _sidecar(settings)
    env = data.get("env")
    if not isinstance(env, dict) or not state.get("written"):
        return False
    env = dict(env)
    for key, value in state["written"].items():
        if env.get(key) == value:
            del env[key]
            if key in state.get("previous", {}):
                env[key] = state["previous"][key]
    changed: bool = env != data["env"]
    if env:
        data["env"] = env
    else:
        del data["env"]
    return changed


def save_sidecar(settings: Path, content: dict[str, Any] | None) -> None:
    path = sidecar_path(settings)
    if content is None or not content.get("written"):
        path.unlink(missing_ok=True)
        return
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def telemetry_enabled(data: dict[str, Any]) -> dict[str, str] | None:
    """The settings' env when it turns Claude Code's telemetry on, else None."""
    env = data.get("env")
    if isinstance(env, dict) and parse_bool(str(env.get(CLAUDE_TELEMETRY_ENV, ""))) is True:
        return {str(k): str(v) for k, v in env.items()}
    return None
