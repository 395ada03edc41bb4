"""Connection and request limits of both HTTP services: argument, else environment, else default.

The defaults follow servers that had to solve the same problems: a request-headers deadline
(Go's ``ReadHeaderTimeout``, Kestrel's ``RequestHeadersTimeout``), a minimum body data rate with a
grace period (Kestrel's ``MinRequestBodyDataRate``: 240 B/s, 5 s grace), an absolute deadline for
the whole body (Go's ``ReadTimeout``) and a lingering close after an early answer (nginx
``lingering_time`` 30 s / ``lingering_timeout`` 5 s), so a client still sending can read it.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass, fields

from traceability.instrumentation.env import (
    ALLOWED_HOSTS_ENV,
    BODY_GRACE_S_ENV,
    BODY_TIMEOUT_S_ENV,
    HEADER_TIMEOUT_S_ENV,
    LINGER_IDLE_S_ENV,
    LINGER_MAX_BYTES_ENV,
    LINGER_TIME_S_ENV,
    MAX_CONNECTIONS_ENV,
    MAX_HEADER_BYTES_ENV,
    MIN_BODY_RATE_BYTES_S_ENV,
    env_float,
    env_int,
    env_list,
)

MiB = 1024 * 1024
# each number's variable; ALLOWED_HOSTS_ENV: comma-separated extra Host names, "*" = any
ENV_NAMES = {
    "header_timeout_s": HEADER_TIMEOUT_S_ENV,
    "max_header_bytes": MAX_HEADER_BYTES_ENV,
    "min_body_rate_bytes_s": MIN_BODY_RATE_BYTES_S_ENV,
    "body_grace_s": BODY_GRACE_S_ENV,
    "body_timeout_s": BODY_TIMEOUT_S_ENV,
    "max_connections": MAX_CONNECTIONS_ENV,
    "linger_time_s": LINGER_TIME_S_ENV,
    "linger_idle_s": LINGER_IDLE_S_ENV,
    "linger_max_bytes": LINGER_MAX_BYTES_ENV,
}


def _default_max_connections() -> int:
    """512, but never more than half the process's file descriptors (spool files and database
    connections need the rest)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 512 if soft == resource.RLIM_INFINITY else max(16, min(512, soft // 2))


@dataclass(frozen=True)
class ServerLimits:
    """Per-process limits; each field's environment variable is in :data:`ENV_NAMES`
    (``TRACEABILITY_<FIELD>``), ``allowed_hosts``'s is ``TRACEABILITY_ALLOWED_HOSTS``."""

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
        values: dict[str, float] = {}
        for f in fields(cls):
            name, default = ENV_NAMES.get(f.name), f.default
            if name and isinstance(default, float):
                values[f.name] = env_float(name, default, minimum=0)
            elif name and isinstance(default, int):
                values[f.name] = env_int(name, default, minimum=0)
        hosts = tuple(host.lower() for host in env_list(ALLOWED_HOSTS_ENV))
        return cls(allowed_hosts=hosts, **values)  # type: ignore[arg-type]

    def as_env(self) -> dict[str, str]:
        """The environment that makes :meth:`resolve` rebuild these limits (for worker processes)."""
        env = {name: str(getattr(self, field)) for field, name in ENV_NAMES.items()}
        env[ALLOWED_HOSTS_ENV] = ",".join(self.allowed_hosts)
        return env
