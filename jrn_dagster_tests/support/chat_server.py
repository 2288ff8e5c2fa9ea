"""A local OpenAI-compatible chat-completions server for tests: real HTTP on 127.0.0.1, speaking
``POST /v1/chat/completions``. Each request is recorded (path, headers, JSON body); the answer
comes from ``replies``, one per request (the last one repeats)."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One answer: ``content`` as the assistant's message (status 200), or another ``status``
    with an error body; ``delay`` seconds before answering; extra ``headers``."""

    content: str | None = None
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    finish_reason: str = "stop"
    # A hostile server: its error message repeats the request's Authorization header.
    echo_authorization: bool = False


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def user_message(self) -> dict[str, Any]:
        [user] = [m for m in self.body["messages"] if m["role"] == "user"]
        return json.loads(user["content"])


@dataclass
class ChatServer:
    url: str  # the base URL a client is given (ends with /v1)
    replies: list[Reply]
    requests: list[Recorded] = field(default_factory=list)

    def next_reply(self) -> Reply:
        index = min(len(self.requests) - 1, len(self.replies) - 1)
        return self.replies[index]


def completion(content: str | None, finish_reason: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@contextmanager
def chat_server(replies: list[Reply]) -> Iterator[ChatServer]:
    server_state = ChatServer(url="", replies=replies)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with lock:
                server_state.requests.append(
                    Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                reply = server_state.next_reply()
            if reply.delay:
                time.sleep(reply.delay)
            if self.path != "/v1/chat/completions":
                reply = Reply(status=404)
            if reply.status == 200:
                payload = completion(reply.content, reply.finish_reason, body.get("model", ""))
            else:
                message = f"test error {reply.status}"
                if reply.echo_authorization:
                    message += f": invalid credential {self.headers.get('Authorization')!r}"
                payload = {"error": {"message": message, "type": "test"}}
            data = json.dumps(payload).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()
