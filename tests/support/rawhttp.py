"""Raw sockets for the slow-client and oversized-body tests: what a hostile or unlucky client does
byte by byte, which HTTP libraries will not do."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from urllib.parse import urlsplit


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    sock.setblocking(False)
    return sock


def request_head(url: str, content_length: int, content_type: str = "application/x-protobuf") -> bytes:
    parts = urlsplit(url)
    return (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {content_length}\r\n\r\n"
    ).encode()


def send_all(sock: socket.socket, data: bytes) -> None:
    sock.setblocking(True)
    try:
        sock.sendall(data)
    finally:
        sock.setblocking(False)


def closed_by_server(sock: socket.socket, received: dict[int, bytes]) -> bool:
    """Read what is there without blocking; True once the server closed (EOF or reset)."""
    while select.select([sock], [], [], 0)[0]:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except BlockingIOError:
            return False
        if not chunk:
            return True
        received[sock.fileno()] = received.get(sock.fileno(), b"") + chunk
    return False


def trickle_until_closed(
    socks: list[socket.socket], *, give_up_s: float, byte: bytes = b"x", every_s: float = 0.5
) -> tuple[list[socket.socket], dict[int, bytes]]:
    """Send one byte to each still-open socket every ``every_s`` s; returns the sockets the server
    has not closed after ``give_up_s`` s, and what each socket received (by file number)."""
    received: dict[int, bytes] = {}
    still_open = list(socks)
    deadline = time.monotonic() + give_up_s
    while still_open and time.monotonic() < deadline:
        for sock in list(still_open):
            if closed_by_server(sock, received):
                still_open.remove(sock)
                continue
            with contextlib.suppress(BlockingIOError, ConnectionResetError, BrokenPipeError):
                sock.send(byte)
        time.sleep(every_s)
    return still_open, received
