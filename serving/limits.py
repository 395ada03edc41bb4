"""Connection and request limits of both HTTP services: argument, else environment, else default.

The defaults follow servers that had to solve the same problems: a request-headers deadline
(Go's ``ReadHeaderTimeout``, Kestrel's ``RequestHeadersTimeout``), a minimum body data rate with a
grace period (Kestrel's ``MinRequestBodyDataRate``: 240 B/s, 5 s grace), an absolute deadline for
the whole body (Go's ``ReadTimeout``) and a lingering close after an early answer (nginx
``lingering_time`` 30 s / ``lingering_timeout`` 5 s), so a client still sending can read it.
"""

from __future__ import annotations

import logging
import os
import resource
from dataclasses import dataclass, fields

log = logging.getLogger(__name__)

MiB = 1024 * 1024
ENV_PREFIX = "TRACEABILITY_"
ALLOWED_HOSTS_ENV = "TRACEABILITY_ALLOWED_HOSTS"  # comma-separated extra Host names; "*" = any


def _default_max_connections() -> int:
    """512, but never more than half the process's file descriptors (spool files and database
    connections need the rest)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 512 if soft == resource.RLIM_INFINITY else max(16, min(512, soft // 2))


@dataclass(frozen=True)
class ServerLimits:
    """Per-process limits. Each field's environment variable is ``TRACEABILITY_<FIELD>`` upper-cased
    (e.g. ``TRACEABILITY_HEADER_TIMEOUT_S``), except ``allowed_hosts`` (``TRACEABILITY_ALLOWED_HOSTS``)."""

    header_timeout_s: float = 10.0  # request line + headers must arrive within this, or 408 and close
    max_header_bytes: int = 64 * 1024  # request line + headers larger than this: 431 and close
    min_body_rate_bytes_s: int = 1024  # while the server waits for body bytes, at least this rate...
    body_grace_s: float = 10.0  # ...with this much waiting in credit (a stalled body is cut after it)
    body_timeout_s: float = 60.0  # the whole body must arrive within this many seconds of its headers
    max_connections: int = 0  # open connections per process; beyond: 503 and close (0: the default)
    linger_time_s: float = 30.0  # after an early answer (413, 429, ...) discard what the client still
    linger_idle_s: float = 5.0  # sends for at most this long, or this long without data,
    linger_max_bytes: int = 256 * MiB  # or this many bytes, then close
    allowed_hosts: tuple[str, ...] = ()  # Host names accepted besides the bind address and loopback names

    def __post_init__(self) -> None:
        if self.max_connections <= 0:
            object.__setattr__(self, "max_connections", _default_max_connections())

    @classmethod
    def resolve(cls) -> ServerLimits:
        """From the environment; a bad value is logged and its default used."""
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name == "allowed_hosts":
                continue
            name = ENV_PREFIX + f.name.upper()
            raw = os.environ.get(name, "").strip()
            if not raw:
                continue
            kind = float if isinstance(f.default, float) else int
            try:
                value = kind(raw)
            except ValueError:
                value = -1
            if value < 0:
                log.warning("%s=%r is not a non-negative number; using the default %s", name, raw, f.default)
                continue
            values[f.name] = value
        hosts = tuple(
            h.strip().lower() for h in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if h.strip()
        )
        return cls(allowed_hosts=hosts, **values)  # type: ignore[arg-type]

    def as_env(self) -> dict[str, str]:
        """The environment that makes :meth:`resolve` rebuild these limits (for worker processes)."""
        env = {ENV_PREFIX + f.name.upper(): str(getattr(self, f.name)) for f in fields(self)}
        env.pop(ENV_PREFIX + "ALLOWED_HOSTS")
        env[ALLOWED_HOSTS_ENV] = ",".join(self.allowed_hosts)
        return env
