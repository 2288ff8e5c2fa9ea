"""No event can stop the sensor: numbers a column cannot hold are refused at the door (receiver
and ``events ingest``), and an event whose matching fails anyway is reported invalid, with its
reason, while the tick moves on (docs/cursors.md, "No poison events")."""

import copy
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, SensorResult, instance_for_test

from jrn_dagster.db.repositories.matching import MatchingRepository
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.runner import evaluate_sensor, requests_of
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.matching import PushTarget
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster_tests.support.cli import run_cli
from jrn_dagster_tests.support.github import (
    WEBHOOK_PATH,
    delivery_headers,
    encode,
    new_delivery_id,
    push_payload,
    sha_for,
)
from jrn_dagster_tests.support.receiver import running_receiver, stored_events
from jrn_dagster_tests.support.world import matching_world, store_push

TOO_BIG = [2**63, -(2**63) - 1, 2**64 + 7, 10**30]


def numeric_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Where a payload holds integers (booleans are not numbers here)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from numeric_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from numeric_paths(item, (*path, index))
    elif isinstance(value, int) and not isinstance(value, bool):
        yield path


def with_value(payload: dict[str, Any], path: tuple[Any, ...], value: int) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    target: Any = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def realistic_push() -> dict[str, Any]:
    return push_payload(before=sha_for("b"), after=sha_for("a"), installation_id=42)


def test_the_push_payload_has_the_numbers_github_sends() -> None:
    paths = {".".join(map(str, p)) for p in numeric_paths(realistic_push())}
    assert {"installation.id", "repository.id", "repository.owner.id", "sender.id"} <= paths


def test_out_of_range_numbers_are_refused_by_the_receiver(
    database_url: str, database: Database
) -> None:
    paths = list(numeric_paths(realistic_push()))
    with running_receiver(database_url) as receiver:
        for path, value in [(p, v) for p in paths for v in TOO_BIG[:2]]:
            body = encode(with_value(realistic_push(), path, value))
            answer = receiver.post(
                WEBHOOK_PATH,
                content=body,
                headers=delivery_headers(body, delivery_id=new_delivery_id()),
            )
            assert answer.status_code == 400, (path, answer.text)
            assert "out of range" in answer.json()["error"], path
        body = encode(realistic_push())
        ok = receiver.post(
            WEBHOOK_PATH,
            content=body,
            headers=delivery_headers(body, delivery_id=new_delivery_id()),
        )
        assert ok.status_code == 201
    assert len(stored_events(database)) == 1


def test_out_of_range_numbers_are_refused_by_events_ingest(
    database_url: str, database: Database, tmp_path: Path
) -> None:
    file = tmp_path / "delivery.json"
    for value in TOO_BIG:
        file.write_bytes(encode(with_value(realistic_push(), ("installation", "id"), value)))
        result = run_cli(
            database_url, "events", "ingest", str(file), "--event", "push",
            "--delivery", new_delivery_id(),
        )  # fmt: skip
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: payload is not valid JSON: number")
        assert "out of range" in result.stderr and len(result.stderr.splitlines()) == 1
    assert stored_events(database) == []


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[DagsterInstance]:
    with instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def tick(instance: DagsterInstance, database: Database, cursor: str | None) -> SensorResult:
    return evaluate_sensor(instance, {"database": DatabaseResource(url=database.url)}, cursor)


def test_an_event_stored_before_the_check_is_invalid_and_the_tick_moves_on(
    instance: DagsterInstance, database: Database, database_url: str
) -> None:
    """A push with installation.id >= 2^63 that got into the table (before numbers were checked
    at the door) used to fail every later tick."""
    matching_world(database)
    poison = store_push(database, before=sha_for("b"), after=sha_for("a"), installation_id=2**63)
    good = store_push(database, before=sha_for("a"), after=sha_for("c"), installation_id=42)
    result = tick(instance, database, None)
    assert {r.tags["jrn/event_id"] for r in requests_of(result)} == {str(good.id)}
    assert EventCursor.parse(result.cursor).last_id == good.id
    listed = json.loads(run_cli(database_url, "events", "list", "--json").stdout)
    outcome = {event["id"]: (event["outcome"], event["detail"]) for event in listed}
    assert outcome[poison.id][0] == "invalid"
    assert "installation.id" in outcome[poison.id][1]
    assert outcome[good.id][0] == "matched"
    explained = run_cli(database_url, "match", str(poison.id), "--explain")
    assert explained.exit_code == 0
    assert explained.stdout.startswith(f"event {poison.id}: invalid")


def test_an_event_whose_matching_fails_is_reported_and_the_tick_moves_on(
    instance: DagsterInstance,
    database: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matching_world(database)
    original = MatchingRepository.true_source_bindings_for

    def failing(self: MatchingRepository, targets: Sequence[PushTarget]):
        # The batched query fails for any batch holding this push, as a bad row would make it.
        if any(target.repo_key == "github.com/acme/widgets" for target in targets):
            raise RuntimeError("the matching query failed for this event")
        return original(self, targets)

    monkeypatch.setattr(MatchingRepository, "true_source_bindings_for", failing)
    broken = store_push(database, before=sha_for("b"), after=sha_for("a"))
    other = store_push(database, repo="gadgets", before=sha_for("b"), after=sha_for("d"))
    result = tick(instance, database, None)
    assert {r.tags["jrn/event_id"] for r in requests_of(result)} == {str(other.id)}
    assert EventCursor.parse(result.cursor).last_id == other.id
    listed = json.loads(run_cli(database_url, "events", "list", "--json").stdout)
    [reported] = [event for event in listed if event["id"] == broken.id]
    assert reported["outcome"] == "invalid"
    assert "the matching query failed for this event" in reported["detail"]
