"""Property: whatever arrives (any body, any headers), the receiver never answers 5xx and never
stores a delivery that is not signed with the secret.

The app runs in process (httpx's ASGI transport, for speed) against a real database of each
kind; an exception escaping the app would fail the test rather than become a 500.
"""

import json
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from jrn_dagster.db.models import WebhookEventRow
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.webhooks.app import create_app
from jrn_dagster_tests.support.github import (
    DEFAULT_SECRET,
    WEBHOOK_PATH,
    encode,
    push_payload,
    sign,
)

SIGNATURE = "X-Hub-Signature-256"
LIMIT = 16 * 1024
KNOWN_HEADERS = [
    "Content-Type",
    "X-GitHub-Event",
    "X-GitHub-Delivery",
    "X-GitHub-Hook-ID",
    "User-Agent",
    "X-Hub-Signature",
    "X-GitHub-Enterprise-Host",
]


Post = Callable[..., httpx.Response]


@pytest.fixture
def post(database: Database) -> Iterator[Post]:
    """``post(content=..., headers=...)`` to the receiver, through one event loop in a thread."""
    app = create_app(database, DEFAULT_SECRET, max_body_bytes=LIMIT)
    transport = httpx.ASGITransport(app=app)
    with start_blocking_portal() as portal:
        client = httpx.AsyncClient(transport=transport, base_url="http://receiver")
        try:
            yield lambda **request: portal.call(partial(client.post, WEBHOOK_PATH, **request))
        finally:
            portal.call(client.aclose)


def _count(database: Database) -> int:
    with database.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(WebhookEventRow)) or 0


header_values = st.binary(max_size=80).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b""))
header_names = st.one_of(
    st.sampled_from(KNOWN_HEADERS), st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True)
).filter(lambda name: name.lower() not in {"content-length", "host", "transfer-encoding"})
github_headers = st.builds(
    lambda event, delivery: {
        "Content-Type": b"application/json",
        "X-GitHub-Event": event.encode(),
        "X-GitHub-Delivery": str(delivery).encode(),
    },
    st.sampled_from(["push", "push", "ping", "issues"]),
    st.uuids(),
)
mixed_headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(
            ["application/json", "application/json; charset=utf-8", "text/plain", "", "x/y"]
        ),
        "X-GitHub-Event": st.sampled_from(["push", "ping", "issues", "", "PUSH", "push\t"]),
        "X-GitHub-Delivery": st.one_of(st.uuids().map(str), st.text(max_size=30)),
    },
).map(lambda headers: {name: value.encode("utf-8") for name, value in headers.items()})
plausible_headers = st.one_of(github_headers, mixed_headers)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@st.composite
def push_bodies(draw: st.DrawFn) -> bytes:
    """GitHub-shaped pushes, some intact, some with a field replaced by anything."""
    payload: dict[str, Any] = push_payload(
        owner=draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,10}", fullmatch=True)),
        branch=draw(st.text(min_size=1, max_size=20)),
    )
    if draw(st.booleans()):
        payload[draw(st.sampled_from(sorted(payload)))] = draw(json_values)
    return encode(payload)


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.text(max_size=200).map(str.encode),
    push_bodies(),
    st.integers(LIMIT - 2, LIMIT + 2).map(lambda size: b" " * size),
)


VALID_PUSH = encode(push_payload())
GITHUB_PUSH_HEADERS = {
    "Content-Type": b"application/json",
    "X-GitHub-Event": b"push",
    "X-GitHub-Delivery": str(uuid.UUID(int=1)).encode(),
}


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=bodies,
    plausible=plausible_headers,
    extra=st.dictionaries(header_names, header_values, max_size=4),
    signing=st.sampled_from(["valid", "none", "wrong-secret", "garbage", "other-body"]),
    garbage=header_values,
)
@example(body=VALID_PUSH, plausible=GITHUB_PUSH_HEADERS, extra={}, signing="valid", garbage=b"")
@example(
    body=VALID_PUSH, plausible=GITHUB_PUSH_HEADERS, extra={}, signing="other-body", garbage=b""
)
def test_any_request_is_answered_below_500_and_unsigned_ones_store_nothing(
    *,
    post: Post,
    database: Database,
    body: bytes,
    plausible: dict[str, bytes],
    extra: dict[str, bytes],
    signing: str,
    garbage: bytes,
) -> None:
    headers: dict[str, bytes] = {**extra, **plausible}
    headers = {name: value for name, value in headers.items() if name.lower() != SIGNATURE.lower()}
    signature = {
        "valid": sign(body).encode(),
        "wrong-secret": sign(body, "not-the-secret").encode(),
        "garbage": garbage,
        "other-body": sign(body + b" ").encode(),
    }.get(signing)
    if signature is not None:
        headers[SIGNATURE] = signature
    before = _count(database)

    response = post(content=body, headers=headers)

    event(f"status {response.status_code} signing {signing}")
    assert response.status_code < 500, response.text
    after = _count(database)
    if signing != "valid":
        assert response.status_code in {401, 413}, response.text
        assert after == before
    else:
        assert response.status_code in {200, 201, 202, 400, 413}, response.text
        assert after == before + (1 if response.status_code == 201 else 0)
