"""The load generator of bench/ingest: HTTP/1.1 POSTs written straight to asyncio streams.

The benchmark runs its clients on the machine it measures, so what they cost comes out of the
collector's share of the CPU. httpx spent ~6-10 us of CPU per log event sending 1,000-event
bodies (its request and response machinery, in Python); this writes one head and the body and
reads one answer, a small fraction of that. It speaks only what the benchmark needs: one request
at a time per connection, answers with a Content-Length.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class PostClient:
    """POSTs ``body`` to one URL; a new connection per request unless ``keep_alive``."""

    def __init__(self, url: str, content_type: str, keep_alive: bool) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.head = (
            f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: {content_type}\r\nConnection: {'keep-alive' if keep_alive else 'close'}\r\n"
        )
        self.keep_alive = keep_alive
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """(status, answer body)."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.write(f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        answer = await reader.readexactly(length)
        if not self.keep_alive:
            await self.close()
        return status, answer

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            await writer.wait_closed()
