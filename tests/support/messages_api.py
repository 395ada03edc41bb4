"""A scripted Anthropic Messages API on loopback: streaming answers (SSE) with tool_use blocks, usage recorded.

Each prompt carries a marker (``[[script:NAME]]``); the answer to a request is step N of that script,
N being how many assistant messages already follow the prompt in the request. Every answer's usage
is recorded, so a test can compare what Claude Code reported with what it was told.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MARKER = re.compile(r"\[\[script:([a-z0-9_-]+)\]\]")


@dataclass(frozen=True)
class Step:
    """One answer: a tool call (name + input) or a final text."""

    text: str = ""
    tool: str | None = None
    tool_input: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)


@dataclass
class Answered:
    script: str
    step: int
    usage: dict[str, int]
    request_id: str
    tool_use_id: str | None


class ScriptedApi:
    def __init__(self, scripts: dict[str, list[Step]]) -> None:
        self.scripts = scripts
        self.answered: list[Answered] = []
        self.unexpected: list[str] = []
        self._lock = threading.Lock()

    def answer(self, body: dict[str, Any]) -> tuple[Step, Answered]:
        script, step = _position(body.get("messages", []))
        with self._lock:
            if script not in self.scripts or step >= len(self.scripts[script]):
                self.unexpected.append(f"{script} step {step}")
                planned = Step(text="(unscripted)", usage={"input_tokens": 1, "output_tokens": 1})
            else:
                planned = self.scripts[script][step]
            n = len(self.answered) + 1
            answered = Answered(script, step, dict(planned.usage), f"req_scripted{n:03d}",
                                f"toolu_scripted{n:03d}" if planned.tool else None)  # fmt: skip
            self.answered.append(answered)
        return planned, answered


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(
        b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"
    )


def _position(messages: list[dict[str, Any]]) -> tuple[str, int]:
    """(script of the newest prompt, how many assistant turns already answered it)."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") == "user":
            found = MARKER.search(_text_of(message))
            if found:
                after = messages[index + 1 :]
                return found.group(1), sum(m.get("role") == "assistant" for m in after)
    return "none", 0


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _events(step: Step, answered: Answered, model: str) -> Iterator[bytes]:
    usage = step.usage
    yield _sse("message_start", {"type": "message_start", "message": {
        "id": f"msg_{answered.request_id}", "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": usage.get("input_tokens", 0), "output_tokens": 1,
                  "cache_read_input_tokens": usage.get("cache_read_input_tokens", 0),
                  "cache_creation_input_tokens": usage.get("cache_creation_input_tokens", 0)}}})  # fmt: skip
    if step.tool:
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": answered.tool_use_id,
            "name": step.tool,
            "input": {},
        }
        delta = {"type": "input_json_delta", "partial_json": json.dumps(step.tool_input)}
        stop = "tool_use"
    else:
        block = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": step.text}
        stop = "end_turn"
    yield _sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block})
    yield _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
    yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
    yield _sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                 "usage": {"output_tokens": usage.get("output_tokens", 0)}})  # fmt: skip
    yield _sse("message_stop", {"type": "message_stop"})


def _handler(api: ScriptedApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not self.path.startswith("/v1/messages") or self.path.startswith("/v1/messages/count_tokens"):
                api.unexpected.append(f"POST {self.path}")
                self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})
                return
            step, answered = api.answer(body)
            payload = b"".join(_events(step, answered, body.get("model", "claude-test")))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("request-id", answered.request_id)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            api.unexpected.append(f"GET {self.path}")
            self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})

        def _json(self, status: int, data: dict[str, Any]) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    return Handler


@contextmanager
def serve(api: ScriptedApi) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
