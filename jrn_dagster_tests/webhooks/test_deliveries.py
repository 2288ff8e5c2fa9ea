import io
import json

import pytest

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.webhooks.deliveries import (
    DeliveryKind,
    kept_headers,
    parse_json_object,
    prepare_delivery,
    read_limited,
)
from jrn_dagster_tests.support.github import encode, push_payload


def _prepare(event_type: str = "push", body: bytes | None = None, delivery_id: str = "d-1"):
    return prepare_delivery(
        event_type=event_type,
        delivery_id=delivery_id,
        body=encode(push_payload()) if body is None else body,
        headers={},
    )


def test_a_push_is_handled_and_normalised() -> None:
    delivery = _prepare()

    assert delivery.kind is DeliveryKind.HANDLED
    assert delivery.push is not None and delivery.push.branch == "main"
    assert delivery.payload == push_payload()


@pytest.mark.parametrize(
    ("event_type", "kind"), [("ping", DeliveryKind.PING), ("issues", DeliveryKind.UNHANDLED)]
)
def test_other_event_types_are_not_normalised(event_type: str, kind: DeliveryKind) -> None:
    delivery = _prepare(event_type, b'{"zen": "x"}')

    assert delivery.kind is kind
    assert delivery.push is None


@pytest.mark.parametrize(
    "delivery_id",
    ["72d3162e-cc78-11e3-81ab-4c9367dc0958", "A", "replay:2024-05-01.1", "x" * 200],
)
def test_delivery_ids_like_githubs_are_accepted(delivery_id: str) -> None:
    assert _prepare(delivery_id=delivery_id).delivery_id == delivery_id


@pytest.mark.parametrize("delivery_id", ["", " x", "x y", "-x", "x" * 201, "a\nb", "é"])
def test_other_delivery_ids_are_refused(delivery_id: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid delivery id"):
        _prepare(delivery_id=delivery_id)


def test_strings_postgres_cannot_hold_are_replaced_the_same_on_every_database() -> None:
    body = b'{"message": "nul \\u0000 and lone \\ud800", "k\\u0000": 1, "ok": "\\u00e9"}'

    assert parse_json_object(body) == {
        "message": "nul \ufffd and lone \ufffd",
        "k\ufffd": 1,
        "ok": "é",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "payload is not valid JSON"),
        (b"{", "payload is not valid JSON"),
        (b"\xef\xbb\xbf{}", "payload is not valid JSON"),
        (b"\xc3\x28", "payload is not UTF-8"),
        (b"null", "got a JSON null"),
        (b'"x"', "got a JSON string"),
        (b"true", "got a JSON boolean"),
        (b"1", "got a JSON number"),
        (b'{"a": Infinity}', "Infinity is not a JSON number"),
        (b'{"a": -1e400}', "out of range"),
        (b'{"a": ' + b"9" * 5000 + b"}", "payload is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a": "\x01"}', "Invalid control character"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        parse_json_object(body)

    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_only_the_headers_worth_keeping_are_kept_and_never_the_signature() -> None:
    headers = {
        "x-github-hook-id": "1",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "user-agent": "GitHub-Hookshot/abc\x7f" + "x" * 500,
        "X-Hub-Signature-256": "sha256=" + "0" * 64,
        "X-Hub-Signature": "sha1=" + "0" * 40,
        "Authorization": "token secret",
        "X-GitHub-Enterprise-Host": "",
    }

    kept = kept_headers(headers)

    assert kept == {
        "X-GitHub-Hook-ID": "1",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "User-Agent": ("GitHub-Hookshot/abc?" + "x" * 500)[:256],
    }


def test_read_limited_refuses_one_byte_over() -> None:
    assert read_limited(io.BytesIO(b"x" * 10), limit=10) == b"x" * 10
    with pytest.raises(InvalidInputError, match="larger than 10 bytes"):
        read_limited(io.BytesIO(b"x" * 11), limit=10)


def test_json_payload_round_trips_unchanged() -> None:
    payload = push_payload(installation_id=5)
    assert parse_json_object(json.dumps(payload, indent=2).encode()) == payload
