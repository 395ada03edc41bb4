"""Which ``Host`` headers a service answers, against DNS rebinding.

A page on ``evil.example`` whose name is re-pointed at 127.0.0.1 can make the browser send requests
to a loopback service, but the browser still sends ``Host: evil.example``. So when no bearer token
protects the service (or when names are configured explicitly) the Host must name the service:
its bind address, the configured names, and on a loopback bind ``localhost``, ``127.0.0.1`` and
``[::1]``, with any port. A request without a Host header does not come from a browser and is let
through.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from traceability.serving.auth import is_loopback

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})


def host_name(header: str) -> str:
    """The name part of a Host header, lower-cased, without port or trailing dot."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    return value.rsplit(":", 1)[0].rstrip(".") if ":" in value else value.rstrip(".")


def _as_host_name(bind: str) -> str:
    try:
        address = ipaddress.ip_address(bind.strip("[]"))
    except ValueError:
        return bind.lower()
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


@dataclass(frozen=True)
class HostPolicy:
    allowed: frozenset[str]
    enforced: bool

    @classmethod
    def build(cls, bind_host: str, *, token_set: bool, allowed_hosts: tuple[str, ...]) -> HostPolicy:
        """Enforced when no token is set, or when names are configured; ``*`` allows any Host."""
        names = {host_name(h) for h in allowed_hosts}
        enforced = (not token_set or bool(names)) and "*" not in names
        if bind_host:
            names.add(_as_host_name(bind_host))
        if is_loopback(bind_host):
            names |= LOOPBACK_NAMES
        return cls(allowed=frozenset(names), enforced=enforced)

    def allows(self, host_header: str | None) -> bool:
        return not self.enforced or host_header is None or host_name(host_header) in self.allowed

    def refusal(self, host_header: str) -> str:
        return (
            f"Host {host_header!r} is not served here; allowed: {', '.join(sorted(self.allowed))} "
            "(add names with TRACEABILITY_ALLOWED_HOSTS, or set TRACEABILITY_API_TOKEN)"
        )
