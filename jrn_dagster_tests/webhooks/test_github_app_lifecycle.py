"""GitHub App lifecycle deliveries, through the receiver and ``events ingest``, on both databases:
integration status follows the installation, and matching (with ``--explain``) follows both."""

import json
from pathlib import Path
from typing import Any

import httpx

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.records import WebhookEvent
from jrn_dagster.services.matching import Outcome, explain_event
from jrn_dagster.services.sensor_tick import plan_tick
from jrn_dagster.webhooks.deliveries import prepare_delivery
from jrn_dagster.webhooks.store import store_delivery
from jrn_dagster_tests.support.cli import run_cli
from jrn_dagster_tests.support.github import (
    encode,
    installation_payload,
    installation_repositories_payload,
    new_delivery_id,
    send_delivery,
    sha_for,
)
from jrn_dagster_tests.support.receiver import stored_events
from jrn_dagster_tests.support.world import World, matching_world, store_push, table_snapshot

APP_INSTALLATION = 42  # integration "app" (source widgets-app); "app-other" is installation 43


def _statuses(database: Database) -> dict[str, str]:
    with database.unit_of_work() as uow:
        return {i.name: i.status.value for i in uow.integrations.all()}


def _app_verdict(database: Database, event: WebhookEvent) -> tuple[bool, str]:
    """Whether a push of installation 42 keeps source widgets-app, and why."""
    with database.unit_of_work() as uow:
        result, verdicts = explain_event(uow, uow.events.get(event.id))
    kept_by_sql = any(
        p.source_id == v.source_id
        for p in result.params
        for v in verdicts
        if v.source_name == "widgets-app"
    )
    [verdict] = [v for v in verdicts if v.source_name == "widgets-app"]
    assert verdict.kept is kept_by_sql  # explain and the SQL agree
    assert result.outcome is Outcome.MATCHED  # the token sources match whatever the app does
    return verdict.kept, verdict.reason


def _send(receiver: httpx.Client, event: str, payload: dict[str, Any], **kwargs: Any) -> int:
    response = send_delivery(receiver, payload, event=event, **kwargs)
    assert response.status_code in {200, 201}, response.text
    return response.json()["event_id"]


def test_suspend_and_unsuspend_stop_and_resume_matching(
    database: Database, receiver: httpx.Client
) -> None:
    matching_world(database)
    push = store_push(database, installation_id=APP_INSTALLATION)
    assert _app_verdict(database, push) == (True, "matched")

    suspend = new_delivery_id()
    suspended = _send(
        receiver,
        "installation",
        installation_payload("suspend", installation_id=APP_INSTALLATION),
        delivery_id=suspend,
    )
    assert _statuses(database) == {
        "gh": "active",
        "gh-suspended": "suspended",
        "app": "suspended",
        "app-other": "active",  # another installation
    }
    assert _app_verdict(database, push) == (
        False,
        f"integration 'app' is suspended: GitHub App installation {APP_INSTALLATION} is "
        f"suspended (event {suspended})",
    )

    _send(receiver, "installation", installation_payload("unsuspend", installation_id=42))
    assert _statuses(database)["app"] == "active"
    assert _app_verdict(database, push) == (True, "matched")

    # A redelivery of the old suspend is a duplicate: stored once, applied once.
    again = send_delivery(
        receiver,
        installation_payload("suspend", installation_id=APP_INSTALLATION),
        event="installation",
        delivery_id=suspend,
    )
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert _statuses(database)["app"] == "active"
    events = [e.event_type for e in stored_events(database)]
    assert events == ["push", "installation", "installation"]


def test_removed_repositories_stop_matching_for_that_installation(
    database: Database, receiver: httpx.Client
) -> None:
    matching_world(database)
    push = store_push(database, installation_id=APP_INSTALLATION)
    removed = _send(
        receiver,
        "installation_repositories",
        installation_repositories_payload(
            "removed", installation_id=APP_INSTALLATION, removed=["acme/Widgets", "acme/other"]
        ),
    )
    assert _statuses(database)["app"] == "active"  # the installation itself is fine
    assert _app_verdict(database, push) == (
        False,
        f"repository acme/widgets was removed from GitHub App installation {APP_INSTALLATION} "
        f"(event {removed})",
    )
    # Installation 43 lost nothing: its loss is not the other installation's.
    _send(
        receiver,
        "installation_repositories",
        installation_repositories_payload("added", installation_id=43, added=["acme/widgets"]),
    )
    assert _app_verdict(database, push)[0] is False

    _send(
        receiver,
        "installation_repositories",
        installation_repositories_payload(
            "added", installation_id=APP_INSTALLATION, added=["acme/widgets"]
        ),
    )
    assert _app_verdict(database, push) == (True, "matched")

    # Switching to "all repositories" covers every repository the installation had lost.
    _send(
        receiver,
        "installation_repositories",
        installation_repositories_payload(
            "removed", installation_id=APP_INSTALLATION, removed=["acme/widgets"]
        ),
    )
    assert _app_verdict(database, push)[0] is False
    _send(
        receiver,
        "installation_repositories",
        installation_repositories_payload(
            "added",
            installation_id=APP_INSTALLATION,
            added=["acme/gadgets"],
            repository_selection="all",
        ),
    )
    assert _app_verdict(database, push) == (True, "matched")


def _ingest(url: str, tmp_path: Path, event: str, payload: dict[str, Any]) -> Any:
    path = tmp_path / f"{event}-{new_delivery_id()}.json"
    path.write_bytes(encode(payload))
    result = run_cli(
        url, "events", "ingest", str(path), "--event", event, "--delivery", new_delivery_id()
    )
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_ingest_applies_the_lifecycle_and_a_deleted_installation_stays_deleted(
    database: Database, tmp_path: Path
) -> None:
    matching_world(database)
    push = store_push(database, installation_id=APP_INSTALLATION)
    url = database.url

    stored, applied = _ingest(
        url, tmp_path, "installation", installation_payload("deleted", installation_id=42)
    )
    assert "GitHub App installation 42 (github.com, acme): deleted" in stored
    assert (
        applied == "applied: installation unknown -> deleted; integration 'app' active -> revoked"
    )
    explained = run_cli(url, "match", str(push.id), "--explain")
    assert "integration 'app' is revoked: GitHub App installation 42 is deleted" in (
        explained.stdout
    )

    # A late unsuspend (a manual redelivery of an old delivery) does not revive it.
    _, late = _ingest(
        url, tmp_path, "installation", installation_payload("unsuspend", installation_id=42)
    )
    assert late.startswith("applied: nothing changed: GitHub App installation 42 was deleted")
    assert _statuses(database)["app"] == "revoked"

    listed = json.loads(run_cli(url, "events", "list", "--json").stdout)
    assert [e["summary"] for e in listed][:2] == [
        "GitHub App installation 42 (github.com, acme): unsuspend",
        "GitHub App installation 42 (github.com, acme): deleted",
    ]


def test_an_integration_added_after_a_suspension_starts_suspended(database_url: str) -> None:
    payload = installation_payload("suspend", installation_id=77, host="ghe.example.com")
    ingested = run_cli(
        database_url,
        "events",
        "ingest",
        "--event",
        "installation",
        "--delivery",
        new_delivery_id(),
        input=encode(payload),
    )
    assert ingested.exit_code == 0, ingested.output
    assert ingested.stdout.splitlines()[1] == "applied: installation unknown -> suspended"
    app_options = ["--kind", "github_app", "--app-id", "5", "--private-key-env", "APP_KEY"]
    added = run_cli(
        database_url,
        *("integration", "add", "ghe-app", *app_options, "--installation-id", "77"),
        "--host",
        "ghe.example.com",
    )
    assert added.exit_code == 0, added.output
    assert "it starts suspended" in added.stdout
    # Installation ids are per host: github.com's installation 77 is another one.
    other = run_cli(
        database_url, "integration", "add", "dotcom-app", *app_options, "--installation-id", "77"
    )
    assert other.exit_code == 0 and "starts" not in other.stdout
    statuses = {
        i["name"]: i["status"]
        for i in json.loads(run_cli(database_url, "integration", "list", "--json").stdout)
    }
    assert statuses == {"ghe-app": "suspended", "dotcom-app": "active"}


def test_malformed_lifecycle_deliveries_are_refused_and_store_nothing(
    database: Database, receiver: httpx.Client
) -> None:
    payload = installation_payload("suspend", installation_id=42)
    del payload["installation"]["id"]
    response = send_delivery(receiver, payload, event="installation")
    assert response.status_code == 400
    assert "'installation.id' is missing" in response.json()["error"]
    ingested = run_cli(
        database.url,
        *("events", "ingest", "--event", "installation_repositories"),
        *("--delivery", new_delivery_id()),
        input=encode(
            installation_repositories_payload("added", installation_id=42, added=["nope"])
        ),
    )
    assert ingested.exit_code == 2
    assert "repositories_added[0].full_name" in ingested.stderr
    assert stored_events(database) == []


def test_the_sensor_reads_lifecycle_events_and_writes_nothing(database: Database) -> None:
    world: World = matching_world(database)
    for event_type, payload in (
        ("installation", installation_payload("suspend", installation_id=42)),
        (
            "installation_repositories",
            installation_repositories_payload("removed", installation_id=43, removed=["a/b"]),
        ),
    ):
        delivery = prepare_delivery(
            event_type=event_type,
            delivery_id=new_delivery_id(),
            body=encode(payload),
            headers={},
        )
        assert store_delivery(database, delivery).lifecycle is not None
    store_push(database, installation_id=42, after=sha_for("after-suspension"))
    before = table_snapshot(database)
    plan = plan_tick(database, EventCursor(), batch_size=10, now=0.0)
    assert plan.counts()["not_a_push"] == 2
    matched = {run.params.source_id for run in plan.runs}
    assert world["source:main"] in matched and world["source:app"] not in matched
    assert table_snapshot(database) == before
