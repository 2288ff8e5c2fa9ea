"""The receiver over real HTTP: uvicorn on a loopback port, a real database of each kind."""

import json
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.refs import ZERO_SHA
from jrn_dagster.webhooks.access_log import ACCESS_LOGGER
from jrn_dagster_tests.support.github import (
    DEFAULT_SECRET,
    WEBHOOK_PATH,
    delivery_headers,
    encode,
    new_delivery_id,
    push_payload,
    send_delivery,
    send_push,
    sign,
)
from jrn_dagster_tests.support.receiver import running_receiver, stored_events


def test_a_valid_push_is_stored_once_with_the_headers_worth_keeping(
    receiver: httpx.Client, database: Database
) -> None:
    payload = push_payload(owner="acme", repo="widgets", branch="main", installation_id=7)
    body = encode(payload)
    delivery_id = new_delivery_id()
    headers = delivery_headers(body, delivery_id=delivery_id)
    before = datetime.now(UTC)

    response = receiver.post(WEBHOOK_PATH, content=body, headers=headers)

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["status"] == "stored"
    assert answer["delivery_id"] == delivery_id
    [event] = stored_events(database)
    assert event.id == answer["event_id"]
    assert (event.delivery_id, event.event_type) == (delivery_id, "push")
    assert event.payload == payload
    assert event.headers == {
        "X-GitHub-Hook-ID": headers["X-GitHub-Hook-ID"],
        "X-GitHub-Hook-Installation-Target-ID": "186853002",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "User-Agent": "GitHub-Hookshot/5f43c2a",
    }
    assert before - timedelta(seconds=1) <= event.received_at <= datetime.now(UTC)


def test_the_same_delivery_sent_three_times_leaves_one_row(
    receiver: httpx.Client, database: Database
) -> None:
    delivery_id = new_delivery_id()

    answers = [send_push(receiver, delivery_id=delivery_id) for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 200, 200]
    assert [a.json()["status"] for a in answers] == ["stored", "duplicate", "duplicate"]
    assert len({a.json()["event_id"] for a in answers}) == 1
    assert [e.delivery_id for e in stored_events(database)] == [delivery_id]


def test_distinct_deliveries_of_the_same_push_are_distinct_events(
    receiver: httpx.Client, database: Database
) -> None:
    # Dedup is by delivery id only: two deliveries are two events (matching dedups work later).
    assert send_push(receiver).status_code == 201
    assert send_push(receiver).status_code == 201
    assert len(stored_events(database)) == 2


def _post(client: httpx.Client, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return client.post(WEBHOOK_PATH, content=body, headers=headers)


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


BODY = encode(push_payload())


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(delivery_headers(BODY, secret="another-secret-entirely"), id="wrong-secret"),
        pytest.param(delivery_headers(BODY, secret=None), id="missing"),
        pytest.param({**delivery_headers(BODY), "X-Hub-Signature-256": ""}, id="empty"),
        pytest.param(
            {**delivery_headers(BODY), "X-Hub-Signature-256": sign(BODY).replace("sha256", "sha1")},
            id="wrong-algorithm",
        ),
        pytest.param(
            {**delivery_headers(BODY), "X-Hub-Signature-256": sign(BODY)[:-2]}, id="truncated"
        ),
        pytest.param(
            {**delivery_headers(BODY), "X-Hub-Signature-256": sign(b"{}")}, id="other-body"
        ),
        pytest.param(
            {
                **_without(delivery_headers(BODY), "X-Hub-Signature-256"),
                "X-Hub-Signature": "sha1=" + "0" * 40,
            },
            id="legacy-sha1-only",
        ),
    ],
)
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(
    receiver: httpx.Client, database: Database, headers: dict[str, str]
) -> None:
    response = _post(receiver, BODY, headers)

    assert response.status_code == 401
    assert "X-Hub-Signature-256" in response.json()["error"]
    assert stored_events(database) == []


def test_a_tampered_body_is_401(receiver: httpx.Client, database: Database) -> None:
    headers = delivery_headers(BODY)
    tampered = BODY.replace(b"refs/heads/main", b"refs/heads/evil")

    assert _post(receiver, tampered, headers).status_code == 401
    assert stored_events(database) == []


def _signed(body: bytes, **changes: str | None) -> dict[str, str]:
    headers = delivery_headers(body)
    for name, value in changes.items():
        header = name.replace("_", "-")
        headers = _without(headers, header)
        if value is not None:
            headers[header] = value
    return headers


@pytest.mark.parametrize(
    ("body", "changes", "message"),
    [
        (b"{not json", {}, "payload is not valid JSON"),
        (b"", {}, "payload is not valid JSON"),
        (b"[1, 2]", {}, "payload must be a JSON object, got a JSON array"),
        (b'{"a": NaN}', {}, "NaN is not a JSON number"),
        (b'{"a": 1e999}', {}, "out of range"),
        (b"\xff\xfe{}", {}, "payload is not UTF-8"),
        (BODY, {"X-GitHub-Event": None}, "missing X-GitHub-Event header"),
        (BODY, {"X-GitHub-Delivery": None}, "missing X-GitHub-Delivery header"),
        (BODY, {"X-GitHub-Delivery": "not a guid"}, "invalid delivery id"),
        (BODY, {"X-GitHub-Event": "Push!"}, "invalid event type"),
        (BODY, {"Content-Type": "application/x-www-form-urlencoded"}, "content type must be"),
        (BODY, {"Content-Type": None}, "content type must be application/json"),
        (b'{"ref": "refs/heads/main"}', {}, "invalid push payload: field 'before' is missing"),
    ],
)
def test_invalid_deliveries_are_400_and_store_nothing(
    receiver: httpx.Client,
    database: Database,
    body: bytes,
    changes: dict[str, str | None],
    message: str,
) -> None:
    response = _post(receiver, body, _signed(body, **changes))

    assert response.status_code == 400, response.text
    assert message in response.json()["error"]
    assert stored_events(database) == []


def test_content_type_parameters_are_accepted(receiver: httpx.Client, database: Database) -> None:
    headers = {**delivery_headers(BODY), "Content-Type": "Application/JSON; charset=utf-8"}

    assert _post(receiver, BODY, headers).status_code == 201
    assert len(stored_events(database)) == 1


def test_ping_is_200_and_unhandled_events_are_202_and_neither_is_stored(
    receiver: httpx.Client, database: Database
) -> None:
    ping = {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {"type": "Repository"}}

    pong = send_delivery(receiver, ping, event="ping")
    ignored = send_delivery(receiver, {"action": "opened"}, event="issues")

    assert (pong.status_code, pong.json()["status"]) == (200, "pong")
    assert (ignored.status_code, ignored.json()["status"]) == (202, "ignored")
    assert stored_events(database) == []


def test_an_unsigned_ping_is_still_401(receiver: httpx.Client) -> None:
    assert send_delivery(receiver, {"zen": "x"}, event="ping", secret=None).status_code == 401


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"tag": "v1.0.0", "before": ZERO_SHA}, id="tag-created"),
        pytest.param({"branch": "gone", "after": ZERO_SHA}, id="branch-deleted"),
    ],
)
def test_pushes_that_start_nothing_are_still_stored(
    receiver: httpx.Client, database: Database, fields: dict[str, str]
) -> None:
    assert send_push(receiver, **fields).status_code == 201
    assert len(stored_events(database)) == 1


LIMIT = 64 * 1024


@pytest.fixture
def small_receiver(database_url: str) -> Iterator[httpx.Client]:
    with running_receiver(database_url, max_body_bytes=LIMIT) as client:
        yield client


def _padded_push(size: int) -> bytes:
    """A valid push body of exactly ``size`` bytes (JSON allows trailing whitespace)."""
    body = encode(push_payload())
    return body + b" " * (size - len(body))


def test_a_body_at_the_limit_is_accepted_and_one_byte_more_is_413(
    small_receiver: httpx.Client, database: Database
) -> None:
    at_limit, over = _padded_push(LIMIT), _padded_push(LIMIT + 1)

    assert _post(small_receiver, at_limit, delivery_headers(at_limit)).status_code == 201
    response = _post(small_receiver, over, delivery_headers(over))

    assert response.status_code == 413
    assert len(stored_events(database)) == 1


def test_a_declared_oversize_body_is_refused_before_it_is_read(
    small_receiver: httpx.Client, database: Database
) -> None:
    """Only the headers are sent: the 413 comes back although the body never arrives."""
    url = httpx.URL(str(small_receiver.base_url))
    request = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {url.host}\r\n"
        f"Content-Type: application/json\r\nX-GitHub-Event: push\r\n"
        f"X-GitHub-Delivery: {new_delivery_id()}\r\nX-Hub-Signature-256: {sign(b'x')}\r\n"
        f"Content-Length: {10 * LIMIT}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.host, url.port or 80), timeout=10) as connection:
        connection.sendall(request)
        status_line = connection.recv(4096).split(b"\r\n", 1)[0]

    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert stored_events(database) == []


def test_a_chunked_oversize_body_is_counted_while_streaming(
    small_receiver: httpx.Client, database: Database
) -> None:
    """No Content-Length: the receiver counts, answers at the limit and closes the connection,
    so the sender cannot push the rest (far more than socket buffers hold)."""
    chunk = b" " * 65536
    sent = 0
    total = 1000 * LIMIT

    def endless_body() -> Iterator[bytes]:
        nonlocal sent
        yield b"{"
        while sent < total:
            sent += len(chunk)
            yield chunk

    try:
        response = small_receiver.post(
            WEBHOOK_PATH,
            content=endless_body(),
            headers=_without(delivery_headers(b"{}"), "Content-Length"),
        )
        assert response.status_code == 413
    except (httpx.WriteError, httpx.RemoteProtocolError):
        # The server answered and closed the connection while the client was still sending.
        pass
    assert sent < total
    assert stored_events(database) == []


def test_health_checks_the_database(receiver: httpx.Client) -> None:
    response = receiver.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_only_post_is_allowed_on_the_webhook_path(receiver: httpx.Client) -> None:
    assert receiver.get(WEBHOOK_PATH).status_code == 405
    assert receiver.post("/webhooks/gitlab").status_code == 404


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.__dict__["fields"] for r in caplog.records if r.name == ACCESS_LOGGER]


def test_access_log_is_structured_and_holds_no_secret_or_body(
    receiver: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    delivery_id = new_delivery_id()
    payload = push_payload(branch="secret-sauce/branch")
    body = encode(payload)
    headers = delivery_headers(body, delivery_id=delivery_id)

    receiver.post(WEBHOOK_PATH + "?token=do-not-log", content=body, headers=headers)
    receiver.post(WEBHOOK_PATH, content=body, headers=delivery_headers(body, secret="wrong-1"))

    # The line is written once the response is out: the client can be a moment ahead.
    deadline = time.monotonic() + 5
    while len(lines := _access_lines(caplog)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    stored, refused = lines
    assert stored["status"] == 201
    assert stored["outcome"] == "stored"
    assert stored["delivery"] == delivery_id
    assert stored["event"] == "push"
    assert stored["path"] == WEBHOOK_PATH
    assert stored["bytes"] == len(body)
    assert isinstance(stored["event_id"], int)
    assert (refused["status"], refused["outcome"]) == (401, "bad_signature")
    text = json.dumps(lines) + caplog.text
    for forbidden in (DEFAULT_SECRET, headers["X-Hub-Signature-256"], "secret-sauce", "do-not-log"):
        assert forbidden not in text


def _nested(depth: int, innermost: str = '"caf\\u00e9 \\ud800"') -> bytes:
    """A push-shaped object whose ``ref`` holds ``depth`` nested objects with ``\\u`` escapes."""
    return ('{"ref": ' + '{"a\\u0041": ' * depth + innermost + "}" * depth + "}").encode()


@pytest.mark.parametrize("depth", [65, 500, 999, 1000, 5000])
@pytest.mark.parametrize("event", ["push", "issues"])
def test_deep_json_is_400_with_a_one_line_log_never_500(
    receiver: httpx.Client, database: Database, caplog: pytest.LogCaptureFixture, depth: int,
    event: str,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO)
    body = _nested(depth)
    response = _post(receiver, body, _signed(body, **{"X-GitHub-Event": event}))

    assert response.status_code == 400, response.text
    assert response.json()["error"] in {
        "payload is not valid JSON: nested deeper than 64 levels",
        "payload is not valid JSON: nested too deeply",  # past the parser's own limit
    }
    deadline = time.monotonic() + 5
    while not (lines := _access_lines(caplog)) and time.monotonic() < deadline:
        time.sleep(0.01)
    [line] = lines
    assert (line["status"], line["outcome"]) == (400, "invalid")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert all("\n" not in r.getMessage() for r in caplog.records)
    assert stored_events(database) == []


def test_json_nested_as_deep_as_the_limit_is_accepted(
    receiver: httpx.Client, database: Database
) -> None:
    payload = push_payload()
    payload["extra"] = json.loads(_nested(62, '"x"'))  # the payload object and extra: 64
    body = encode(payload)
    assert _post(receiver, body, _signed(body)).status_code == 201
    assert len(stored_events(database)) == 1


def test_an_unforeseen_error_is_503_with_retry_after_and_one_log_line(
    database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (here: the store raising what nothing expects) is never a 500: GitHub is told to
    redeliver, and the log line names the exception's type and frames, not its message."""
    import jrn_dagster.webhooks.store as store_module

    def broken_store(*_: object) -> None:
        raise KeyError("payload-fragment-that-must-not-be-logged")

    monkeypatch.setattr(store_module, "store_delivery", broken_store)
    caplog.set_level(logging.INFO)
    with running_receiver(database_url) as client:
        response = send_push(client)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json() == {"error": "internal error, nothing was stored: redeliver later"}
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    fields = error.__dict__["fields"]
    assert fields["error"] == "KeyError"
    assert "\n" not in fields["stack"] and "broken_store" in fields["stack"]
    assert "payload-fragment" not in caplog.text


def _start_request(base_url: str, body: bytes, headers: dict[str, str]) -> socket.socket:
    """Send the headers and the first half of ``body``; the rest is sent by the caller."""
    url = httpx.URL(base_url)
    headers = {**headers, "Content-Length": str(len(body))}
    head = f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {url.host}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    connection = socket.create_connection((url.host, url.port or 80), timeout=10)
    connection.sendall(head.encode() + b"\r\n" + body[: len(body) // 2])
    return connection


def _status(connection: socket.socket) -> bytes:
    return connection.recv(4096).split(b"\r\n", 1)[0]


def test_unverified_bytes_in_flight_are_bounded_503_with_retry_after(
    database_url: str, database: Database
) -> None:
    """Two slow senders hold the whole budget for unverified bodies: the next request is
    answered 503 with Retry-After before its body is read; once they are done, it is stored."""
    body = _padded_push(LIMIT)
    with running_receiver(
        database_url, max_body_bytes=LIMIT, max_unverified_bytes=2 * LIMIT
    ) as client:
        base_url = str(client.base_url)
        first = _start_request(base_url, body, delivery_headers(body))
        second = _start_request(base_url, body, delivery_headers(body, secret="wrong-secret"))
        # Until the receiver has read both requests' headers, probes still fit in the budget.
        probe = b"{}"
        deadline = time.monotonic() + 10
        while (
            refused := _post(client, probe, delivery_headers(probe, secret="wrong-secret"))
        ).status_code == 401 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "30"
        assert refused.headers["Connection"] == "close"
        assert refused.json() == {
            "error": "too many unverified bytes in flight, nothing was stored: redeliver later"
        }
        with first, second:
            first.sendall(body[len(body) // 2 :])
            assert _status(first) == b"HTTP/1.1 201 Created"
        # The second sender went away: its share of the budget is given back.
        deadline = time.monotonic() + 10
        while (stored := send_push(client)).status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stored.status_code == 201, stored.text
    assert len(stored_events(database)) == 2
