"""``jrn-dagster events ingest|list|show``: the receiver's validation and dedup, from a file."""

import json
from pathlib import Path

import pytest

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.refs import ZERO_SHA
from jrn_dagster.webhooks.deliveries import MAX_PAYLOAD_BYTES
from jrn_dagster_tests.support.cli import run_cli
from jrn_dagster_tests.support.github import (
    encode,
    new_delivery_id,
    push_payload,
    send_push,
    sha_for,
)
from jrn_dagster_tests.support.receiver import running_receiver, stored_events


def _write(tmp_path: Path, body: bytes) -> str:
    path = tmp_path / "delivery.json"
    path.write_bytes(body)
    return str(path)


def test_ingest_stores_a_push_once(database_url: str, database: Database, tmp_path: Path) -> None:
    payload = push_payload(owner="acme", repo="widgets", branch="feature/x", after=sha_for("a"))
    file = _write(tmp_path, encode(payload))
    delivery_id = new_delivery_id()

    first = run_cli(
        database_url, "events", "ingest", file, "--event", "push", "--delivery", delivery_id
    )
    second = run_cli(
        database_url,
        "events",
        "ingest",
        "--event",
        "push",
        "--delivery",
        delivery_id,
        input=encode(payload),
    )  # stdin

    [event] = stored_events(database)
    assert first.exit_code == 0, first.output
    assert first.stdout == (
        f"stored: event {event.id} (delivery {delivery_id}, github.com/acme/widgets "
        f"refs/heads/feature/x {payload['before'][:12]}..{sha_for('a')[:12]})\n"
    )
    assert second.exit_code == 0, second.output
    assert (
        second.stdout
        == f"duplicate: delivery {delivery_id} is already stored as event {event.id}\n"
    )
    assert event.payload == payload
    assert event.headers["User-Agent"].startswith("jrn-dagster/")


def test_ingest_json_output(database_url: str, tmp_path: Path) -> None:
    file = _write(tmp_path, encode(push_payload()))
    delivery_id = new_delivery_id()
    args = ("events", "ingest", file, "--event", "push", "--delivery", delivery_id, "--json")

    first = json.loads(run_cli(database_url, *args).stdout)
    again = json.loads(run_cli(database_url, *args).stdout)

    assert first == {"event_id": first["event_id"], "delivery_id": delivery_id, "created": True}
    assert again == {**first, "created": False}


def test_the_cli_and_the_receiver_share_one_dedup(database_url: str, database: Database) -> None:
    delivery_id = new_delivery_id()
    ingested = run_cli(
        database_url,
        "events",
        "ingest",
        "--event",
        "push",
        "--delivery",
        delivery_id,
        input=encode(push_payload()),
    )
    assert ingested.exit_code == 0, ingested.output

    with running_receiver(database_url) as client:
        response = send_push(client, delivery_id=delivery_id)

    assert (response.status_code, response.json()["status"]) == (200, "duplicate")
    assert len(stored_events(database)) == 1


@pytest.mark.parametrize(
    ("body", "event", "delivery", "message"),
    [
        (b"{oops", "push", "d-1", "error: payload is not valid JSON"),
        (b"[]", "push", "d-1", "error: payload must be a JSON object, got a JSON array"),
        (
            b'{"ref": "refs/heads/main"}',
            "push",
            "d-1",
            "error: invalid push payload: field 'before'",
        ),
        (encode(push_payload()), "push", "not a guid", "error: invalid delivery id 'not a guid'"),
        (encode(push_payload()), "Push", "d-1", "error: invalid event type 'Push'"),
        (
            b'{"zen": "hi"}',
            "ping",
            "d-1",
            "error: event type 'ping' is not stored "
            "(handled: installation, installation_repositories, push)",
        ),
        (b'{"action": "x"}', "issues", "d-1", "error: event type 'issues' is not stored"),
        (b" " * (MAX_PAYLOAD_BYTES + 1), "push", "d-1", f"larger than {MAX_PAYLOAD_BYTES} bytes"),
    ],
)
def test_invalid_input_exits_2_with_one_line_and_stores_nothing(
    *, database_url: str, database: Database, body: bytes, event: str, delivery: str, message: str
) -> None:
    result = run_cli(
        database_url, "events", "ingest", "--event", event, "--delivery", delivery, input=body
    )

    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert stored_events(database) == []


def test_list_and_show(database_url: str) -> None:
    pushes = [
        push_payload(branch="main", before=ZERO_SHA, after=sha_for("1")),
        push_payload(tag="v1.0.0", before=ZERO_SHA, after=sha_for("2")),
        push_payload(branch="dev", forced=True, before=sha_for("3"), after=sha_for("4")),
    ]
    ids = []
    for payload in pushes:
        out = run_cli(
            database_url,
            "events",
            "ingest",
            "--event",
            "push",
            "--delivery",
            new_delivery_id(),
            "--json",
            input=encode(payload),
        )
        ids.append(json.loads(out.stdout)["event_id"])

    table = run_cli(database_url, "events", "list").stdout.splitlines()
    listed = json.loads(run_cli(database_url, "events", "list", "--json", "--limit", "2").stdout)
    shown = json.loads(run_cli(database_url, "events", "show", str(ids[0])).stdout)

    assert table[0].split() == ["ID", "DELIVERY", "TYPE", "RECEIVED", "OUTCOME", "SUMMARY"]
    assert [int(line.split()[0]) for line in table[1:]] == ids[::-1]
    assert table[1].endswith(f"refs/heads/dev {sha_for('3')[:12]}..{sha_for('4')[:12]} forced")
    assert "refs/tags/v1.0.0: nothing to do (tag 'v1.0.0' was pushed" in table[2]
    assert f"refs/heads/main (new branch)..{sha_for('1')[:12]}" in table[3]
    assert [event["id"] for event in listed] == ids[:0:-1]
    assert "payload" not in listed[0]
    assert listed[0]["summary"].endswith("forced")
    assert shown["payload"] == pushes[0]
    assert shown["event_type"] == "push"


def test_show_an_unknown_event_is_one_line(database_url: str) -> None:
    result = run_cli(database_url, "events", "show", "999")

    assert result.exit_code == 2
    assert result.stderr == "error: event 999 does not exist\n"
