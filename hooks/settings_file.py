"""The hook's config file parsed and its parse cached: what ``settings.load_settings`` does when
``config.yaml`` changed since the cached parse, or no cache was readable (a hook run with a current
cache never loads this module).
"""

from __future__ import annotations

from traceability.hooks.settings import HookSettings
from traceability.instrumentation import otlp_json, posix_fs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def parse_yaml(path: str) -> tuple[dict[str, Any], str]:
    """The config file parsed (slow path: site-packages + PyYAML); ({}, error) when unusable."""
    from traceability.hooks.slowpath import enable_site_packages

    enable_site_packages()
    try:
        import yaml

        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except Exception as exc:  # any unreadable or invalid file: defaults, and the error is logged
        return {}, f"{path}: {type(exc).__name__}: {exc}"
    if raw is None:
        return {}, ""
    if not isinstance(raw, dict):
        return {}, f"{path}: the top level must be a mapping, got {type(raw).__name__}"
    return raw, ""


def parse_and_cache(path: str, signature: list[int] | None, cache_path: str) -> HookSettings:
    """Settings from the config file at ``path`` (``signature``: its ``stat_signature``, None when it
    does not exist), its parse written to ``cache_path`` for the next runs."""
    raw, error = parse_yaml(path) if signature is not None else ({}, "")
    settings = HookSettings(raw, config_path=path, config_error=error)
    try:
        cache = {"path": path, "sig": signature, "config": raw, "error": error}
        try:
            text = otlp_json.dumps(cache)
        except (TypeError, ValueError):  # YAML dates and the like: the slow json, as text
            import json

            text = json.dumps(cache, default=str)
        posix_fs.makedirs(posix_fs.dirname(cache_path))
        posix_fs.write_atomic(cache_path, text.encode("utf-8"))
    except (OSError, TypeError, ValueError):
        pass  # no cache: the next run parses again
    return settings
