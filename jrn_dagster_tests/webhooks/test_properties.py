"""Property: whatever arrives (any body, any headers), the receiver never answers 5xx and never
stores a delivery that is not signed with the secret. Bodies include deeply nested JSON with
``\\u`` escapes (NUL, lone surrogates), pushes exactly at the size limit and one byte over, and
odd headers (case, parameters, non-ASCII bytes, overlong values, an upper-case signature).

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
odd_headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(
            [b"APPLICATION/JSON", b" application/json ; charset=UTF-8", b"application/json;;",
             b"application/json, text/plain", b"application/json\xff", b"\xc3\xa9"]
        ),
        "X-GitHub-Event": st.sampled_from([b"push", b"push ", b"p\xffsh", b"x" * 200, b"ping"]),
        "X-GitHub-Delivery": st.sampled_from(
            [b"a" * 201, b"-abc", b"abc\xff", b"72d3162e-cc78-11e3-81ab-4c9367dc0958"]
        ),
        "Content-Encoding": st.sampled_from([b"gzip", b"identity"]),
        "X-Hub-Signature": st.sampled_from([b"sha1=0", b""]),
    },
)  # fmt: skip
plausible_headers = st.one_of(github_headers, mixed_headers, odd_headers)
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


escaped_strings = st.one_of(
    st.text(max_size=20).map(lambda text: json.dumps(text, ensure_ascii=True)),
    st.sampled_from(['"\\u0000"', '"\\ud800"', '"\\udfff\\ud800"', '"caf\\u00e9"', '"\\uFFFF"']),
)


@st.composite
def nested_bodies(draw: st.DrawFn) -> bytes:
    """Arrays and objects (with escaped keys) nested up to past the parser's own limit, around
    an escaped string; sometimes inside a push-shaped object."""
    depth = draw(st.one_of(st.integers(1, 80), st.integers(400, 3200)))
    unit = draw(st.lists(st.sampled_from(["[", '{"k\\u0041": ']), min_size=1, max_size=3))
    opens = (unit * depth)[:depth]
    closes = "".join("]" if opened == "[" else "}" for opened in reversed(opens))
    text = "".join(opens) + draw(escaped_strings) + closes
    if draw(st.booleans()):
        text = '{"ref": "refs/heads/main", "deep": ' + text + "}"
    return text.encode()


@st.composite
def bodies_at_the_limit(draw: st.DrawFn) -> bytes:
    """A valid push padded with whitespace to the size limit, or a byte either side of it."""
    body = encode(push_payload(branch=draw(st.from_regex(r"[a-z]{1,10}", fullmatch=True))))
    return body + b" " * (draw(st.integers(LIMIT - 1, LIMIT + 1)) - len(body))


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.text(max_size=200).map(str.encode),
    push_bodies(),
    st.integers(LIMIT - 2, LIMIT + 2).map(lambda size: b" " * size),
    nested_bodies(),
    bodies_at_the_limit(),
)


VALID_PUSH = encode(push_payload())
# Deep enough to exhaust the stack of anything recursive after parsing, not the parser's own
# (Hypothesis raises the recursion limit by 2,000 while a test runs).
DEEP_PUSH = ('{"ref": ' + "[" * 2000 + '"\\ud800"' + "]" * 2000 + "}").encode()
DEEP_ISSUE = ("[" * 2000 + '"\\u0000"' + "]" * 2000).encode()
DEEP_ISSUE = b'{"issue": ' + DEEP_ISSUE + b"}"
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
    signing=st.sampled_from(
        ["valid", "valid-upper-case", "none", "wrong-secret", "garbage", "other-body"]
    ),
    garbage=header_values,
)
@example(body=VALID_PUSH, plausible=GITHUB_PUSH_HEADERS, extra={}, signing="valid", garbage=b"")
@example(body=DEEP_PUSH, plausible=GITHUB_PUSH_HEADERS, extra={}, signing="valid", garbage=b"")
@example(
    body=DEEP_ISSUE, plausible={**GITHUB_PUSH_HEADERS, "X-GitHub-Event": b"issues"}, extra={},
    signing="valid", garbage=b"",
)  # fmt: skip
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
        # The hex digest is compared without regard to case.
        "valid-upper-case": sign(body).upper().replace("SHA256=", "sha256=").encode(),
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
    if not signing.startswith("valid"):
        assert response.status_code in {401, 413}, response.text
        assert after == before
    else:
        assert response.status_code in {200, 201, 202, 400, 413}, response.text
        assert after == before + (1 if response.status_code == 201 else 0)
