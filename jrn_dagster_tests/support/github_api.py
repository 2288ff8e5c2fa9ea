"""A GitHub App token endpoint on loopback that checks what GitHub checks.

``POST /app/installations/{id}/access_tokens`` (optionally under ``/api/v3`` as on Enterprise
Server) verifies the bearer JWT with the app's *public* key (RS256, issuer = app id, issued in
the past, at most 10 minutes of validity) and answers like GitHub: 201 with a token, 401 for a bad
JWT, 404 for an unknown installation, 422 for a repository the installation cannot see.
"""

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jrn_dagster_tests.support.loopback import LoopbackHttpServer

_TOKEN_PATH = re.compile(r"^(?:/api/v3)?/app/installations/(\d+)/access_tokens$")


@dataclass(frozen=True)
class AppKeys:
    private_pem: str
    public_pem: str


def generate_app_keys() -> AppKeys:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return AppKeys(private_pem=private_pem, public_pem=public_pem)


@dataclass
class TokenRequest:
    installation_id: int
    claims: dict[str, Any] | None
    body: dict[str, Any]
    status: int


@dataclass
class _State:
    app_id: int
    public_pem: str
    # installation id -> repositories it can see
    installations: dict[int, set[str]]
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[TokenRequest] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)


def _verify(state: _State, authorization: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """(claims, None) for a JWT GitHub would accept, else (None, why)."""
    if not authorization or not authorization.startswith("Bearer "):
        return None, "missing bearer token"
    try:
        claims = jwt.decode(
            authorization.removeprefix("Bearer "),
            state.public_pem,
            algorithms=["RS256"],
            options={"require": ["iat", "exp", "iss"]},
        )
    except jwt.PyJWTError as error:
        return None, f"A JSON web token could not be decoded ({error})"
    if str(claims["iss"]) != str(state.app_id):
        return None, "'Issuer' claim ('iss') must be the app id"
    if claims["exp"] - claims["iat"] > 600 or claims["iat"] > time.time():
        return None, "'Expiration time' claim ('exp') is too far in the future"
    return claims, None


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class TokenHandler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw or b"{}")
            match = _TOKEN_PATH.match(self.path)
            installation_id = int(match.group(1)) if match else -1
            claims, problem = _verify(state, self.headers.get("Authorization"))
            with state.lock:
                failure = state.failures.pop(0) if state.failures else None
            status, payload = self._decide(
                failure,
                match=match,
                claims=claims,
                problem=problem,
                installation_id=installation_id,
                body=body,
            )
            with state.lock:
                state.requests.append(TokenRequest(installation_id, claims, body, status))
            self._answer(status, payload)

        def _decide(
            self,
            failure: int | None,
            *,
            match: re.Match[str] | None,
            claims: dict[str, Any] | None,
            problem: str | None,
            installation_id: int,
            body: dict[str, Any],
        ) -> tuple[int, dict[str, Any]]:
            if failure is not None:
                return failure, {"message": "Server Error"}
            if match is None:
                return 404, {"message": "Not Found"}
            if claims is None:
                return 401, {"message": problem}
            if installation_id not in state.installations:
                return 404, {"message": "Not Found"}
            wanted = set(body.get("repositories") or [])
            if not wanted <= state.installations[installation_id]:
                return 422, {
                    "message": "There is at least one repository that does not exist or is not "
                    "accessible to the parent installation."
                }
            token = "ghs_" + secrets.token_hex(18)
            with state.lock:
                state.issued.append(token)
            expires = datetime.now(UTC) + timedelta(hours=1)
            return 201, {
                "token": token,
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "permissions": body.get("permissions") or {},
                "repository_selection": "selected",
            }

    return TokenHandler


class FakeGitHubAppApi(LoopbackHttpServer):
    def __init__(self, *, app_id: int, public_pem: str, installations: dict[int, set[str]]) -> None:
        self._state = _State(app_id=app_id, public_pem=public_pem, installations=installations)
        super().__init__(_handler(self._state))

    @property
    def requests(self) -> list[TokenRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def issued_tokens(self) -> list[str]:
        with self._state.lock:
            return list(self._state.issued)

    def fail_next(self, count: int, status: int = 502) -> None:
        with self._state.lock:
            self._state.failures.extend([status] * count)
