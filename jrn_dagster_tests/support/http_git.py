"""Serve the repositories under a root over HTTP on loopback with ``git http-backend``, behind an
optional Basic-auth check, counting the bytes served.

    with GitHttpServer(root, token="s3cret") as server:
        template = server.url_template   # http://127.0.0.1:PORT/{host}/{owner}/{repo}.git
        clone_at(..., clone_url_template=template, credential_hosts=[server.host])

Requests without the expected ``Authorization: Basic base64(user:token)`` header get a 401, as
GitHub answers; ``fail_next(n, status)`` makes the next ``n`` requests fail with ``status`` (e.g.
503) to exercise retries. ``protocol_v2=False`` makes the server speak protocol v0 only, where
(without ``uploadpack.allowReachableSHA1InWant``) a commit cannot be fetched by its id.
"""

import base64
import os
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jrn_dagster_tests.support.loopback import LoopbackHttpServer


@dataclass
class ServedRequest:
    method: str
    path: str
    authorization: str | None
    status: int


@dataclass
class _State:
    root: Path
    expected_authorization: str | None
    protocol_v2: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[ServedRequest] = field(default_factory=list)
    bytes_sent: int = 0
    failures: list[int] = field(default_factory=list)


def _read_chunked(stream) -> bytes:  # type: ignore[no-untyped-def]
    body = bytearray()
    while True:
        size = int(stream.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            stream.readline()  # the blank line after the last chunk (no trailers from git)
            return bytes(body)
        body += stream.read(size)
        stream.readline()


def _parse_cgi(output: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    separator = b"\r\n\r\n" if b"\r\n\r\n" in output else b"\n\n"
    head, _, body = output.partition(separator)
    status = 200
    headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers.append((name.strip(), value.strip()))
    return status, headers, body


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class GitBackendHandler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return  # keep test output clean

        def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with state.lock:
                state.bytes_sent += len(body)
                state.requests.append(
                    ServedRequest(
                        self.command, self.path, self.headers.get("Authorization"), status
                    )
                )

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                return _read_chunked(self.rfile)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _serve(self) -> None:
            body = self._body()
            with state.lock:
                failure = state.failures.pop(0) if state.failures else None
            if failure is not None:
                self._reply(failure, [("Content-Type", "text/plain")], b"injected failure\n")
                return
            authorization = self.headers.get("Authorization")
            if state.expected_authorization and authorization != state.expected_authorization:
                self._reply(
                    401,
                    [("WWW-Authenticate", 'Basic realm="git"'), ("Content-Type", "text/plain")],
                    b"authentication required\n",
                )
                return
            parts = urlsplit(self.path)
            env = {
                "PATH": os.environ.get("PATH", os.defpath),
                "HOME": str(state.root),
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_PROJECT_ROOT": str(state.root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "GATEWAY_INTERFACE": "CGI/1.1",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": unquote(parts.path),
                "QUERY_STRING": parts.query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": self.client_address[0],
                "REMOTE_USER": "x-access-token" if authorization else "",
                # Without it http-backend speaks protocol v0, like servers that refuse to serve
                # commits by id.
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", "") if state.protocol_v2 else "",
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            }
            completed = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            )
            status, headers, payload = _parse_cgi(completed.stdout)
            self._reply(status, headers, payload)

        do_GET = _serve  # noqa: N815 - BaseHTTPRequestHandler's naming
        do_POST = _serve  # noqa: N815

    return GitBackendHandler


def basic_authorization(token: str, username: str = "x-access-token") -> str:
    return "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()


class GitHttpServer(LoopbackHttpServer):
    def __init__(self, root: Path, *, token: str | None = None, protocol_v2: bool = True) -> None:
        self._state = _State(
            root=root,
            expected_authorization=basic_authorization(token) if token else None,
            protocol_v2=protocol_v2,
        )
        super().__init__(_handler(self._state))

    # Not the integration's host (github.com): clones declare it as a credential host.
    host = "127.0.0.1"

    @property
    def url_template(self) -> str:
        return f"http://{self.host}:{self.port}/{{host}}/{{owner}}/{{repo}}.git"

    @property
    def requests(self) -> list[ServedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def bytes_sent(self) -> int:
        with self._state.lock:
            return self._state.bytes_sent

    def reset_counters(self) -> None:
        with self._state.lock:
            self._state.requests.clear()
            self._state.bytes_sent = 0

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._state.lock:
            self._state.failures.extend([status] * count)
