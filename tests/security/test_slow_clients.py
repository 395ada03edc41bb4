"""Slow clients cannot hold the collector: headers and bodies trickled at 1 byte/s and silent
connections are closed after the configured timeouts, open connections are capped, and senders that
declare big bodies (or send most of one and stall) do not lock the in-flight budget for others.

The timeouts are set to 1 s here; each test waits up to 20 s for the server to act, so nothing
depends on the machine's speed beyond that slack."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.collector import running_collector, wait_until
from tests.support.ingest_payloads import otlp_json_body
from tests.support.rawhttp import closed_by_server, connect, request_head, send_all, trickle_until_closed

MiB = 1024 * 1024
FAST = {"TRACEABILITY_HEADER_TIMEOUT_S": "1", "TRACEABILITY_BODY_GRACE_S": "1"}
JSON = {"Content-Type": "application/json"}


def _close_all(socks: list[socket.socket]) -> None:
    for sock in socks:
        sock.close()


def _post_ok(url: str) -> int:
    return httpx.post(url, content=otlp_json_body(), headers=JSON, timeout=10).status_code


def test_headers_and_bodies_at_one_byte_per_second_are_cut(db_dsn: str, tmp_path: Path) -> None:
    with running_collector(db_dsn, tmp_path, extra_env=FAST) as collector:
        slow_headers = [connect(collector.url) for _ in range(20)]
        for sock in slow_headers:
            send_all(sock, b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow_bodies = [connect(collector.url) for _ in range(20)]
        for sock in slow_bodies:
            send_all(sock, request_head(collector.traces_url, 100_000))
        try:
            still_open, received = trickle_until_closed(slow_headers + slow_bodies, give_up_s=20)
            assert still_open == []
            answers = list(received.values())
            assert (
                sum(b"408 Request Timeout" in a and b"request headers not received" in a for a in answers)
                == 20
            )
            assert (
                sum(b"408 Request Timeout" in a and b"request body arrives slower" in a for a in answers)
                == 20
            )
            assert _post_ok(collector.traces_url) == 200
            assert collector.health()["receiver"]["inflight_bytes"] == 0  # type: ignore[index]
        finally:
            _close_all(slow_headers + slow_bodies)
        assert "connection closed" in collector.log()


def test_silent_connections_are_capped_and_closed(db_dsn: str, tmp_path: Path) -> None:
    env = {**FAST, "TRACEABILITY_MAX_CONNECTIONS": "50"}
    with running_collector(db_dsn, tmp_path, extra_env=env) as collector:
        silent = [connect(collector.url) for _ in range(300)]
        try:
            received: dict[int, bytes] = {}
            open_socks = list(silent)

            def all_closed() -> bool:
                open_socks[:] = [s for s in open_socks if not closed_by_server(s, received)]
                return not open_socks

            wait_until(all_closed, timeout=20, what="silent connections closed by the server")
            refused = [a for a in received.values() if b"503 Service Unavailable" in a]
            assert len(refused) >= 250  # at most 50 were let in
            assert all(b"retry-after: 1" in a and b"too many connections" in a for a in refused)
            assert _post_ok(collector.traces_url) == 200
        finally:
            _close_all(silent)


def _senders(url: str, n: int, declared: int, sent: int) -> Iterator[socket.socket]:
    for _ in range(n):
        sock = connect(url)
        send_all(sock, request_head(url, declared) + b"\0" * sent)
        yield sock


def test_slow_senders_declaring_16_mib_do_not_take_the_budget(db_dsn: str, tmp_path: Path) -> None:
    with running_collector(db_dsn, tmp_path) as collector:  # 64 MiB budget, 16 MiB bodies
        slow = list(_senders(collector.traces_url, 4, 16 * MiB, 1024))
        try:
            wait_until(
                lambda: collector.health()["receiver"]["requests"] >= 4,  # type: ignore[index]
                timeout=20,
                what="the slow requests to reach the receiver",
            )
            statuses = [_post_ok(collector.traces_url) for _ in range(5)]
            assert statuses == [200] * 5
            assert not any(closed_by_server(s, {}) for s in slow)  # they were still being waited for
        finally:
            _close_all(slow)


def test_senders_that_stall_after_most_of_a_body_release_the_budget(db_dsn: str, tmp_path: Path) -> None:
    env = {**FAST, "TRACEABILITY_MAX_INFLIGHT_BYTES": str(4 * MiB), "TRACEABILITY_MAX_BODY_BYTES": str(MiB)}
    with running_collector(db_dsn, tmp_path, extra_env=env) as collector:
        stalled = list(_senders(collector.traces_url, 4, MiB, MiB - 4096))
        try:
            wait_until(
                lambda: _post_ok(collector.traces_url) == 200, timeout=20, what="the budget to be free"
            )
            received: dict[int, bytes] = {}
            wait_until(
                lambda: all(closed_by_server(s, received) for s in stalled), timeout=20, what="stalls cut"
            )
            assert all(b"408 Request Timeout" in a for a in received.values()), received
            assert collector.health()["receiver"]["inflight_bytes"] == 0  # type: ignore[index]
        finally:
            _close_all(stalled)


def test_headers_over_the_size_cap_get_431_and_close(db_dsn: str, tmp_path: Path) -> None:
    with running_collector(db_dsn, tmp_path) as collector:
        sock = connect(collector.url)
        try:
            send_all(sock, b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * (200 * 1024))
            received: dict[int, bytes] = {}
            wait_until(lambda: closed_by_server(sock, received), timeout=20, what="oversized headers cut")
            answer = b"".join(received.values())
            assert b"431 Request Header Fields Too Large" in answer
            assert b"request headers are over the 65536 byte limit" in answer
        finally:
            sock.close()
        assert _post_ok(collector.traces_url) == 200
