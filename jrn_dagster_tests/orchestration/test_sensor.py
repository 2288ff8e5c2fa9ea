"""webhook_event_sensor evaluated directly on a real instance (docs/contract.md#dagster-shape)."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, SensorResult, build_sensor_context, instance_for_test

import jrn_dagster.sensors
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.runner import requests_of
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.jobs import SPACES
from jrn_dagster.resources.database import DatabaseResource
from jrn_dagster.sensors import webhook_event_sensor
from jrn_dagster_tests.support.github import push_payload, sha_for
from jrn_dagster_tests.support.world import matching_world, store_event, store_push, table_snapshot


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[DagsterInstance]:
    with instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def tick(instance: DagsterInstance, database: Database, cursor: str | None) -> SensorResult:
    context = build_sensor_context(
        instance=instance, resources={"database": DatabaseResource(url=database.url)}, cursor=cursor
    )
    result = webhook_event_sensor(context)
    assert isinstance(result, SensorResult)
    return result


def run_keys(result: SensorResult) -> list[str]:
    return [request.run_key or "" for request in requests_of(result)]


def test_same_cursor_same_run_keys_and_partitions_come_with_runs(
    instance: DagsterInstance, database: Database
) -> None:
    world = matching_world(database)
    event = store_push(database, before=sha_for("b"), after=sha_for("a"), installation_id=42)
    first, again = tick(instance, database, None), tick(instance, database, None)
    assert run_keys(first) == run_keys(again)
    assert len(requests_of(first)) == 5  # main: alpha+beta, all: beta+gamma, app: alpha
    request = requests_of(first)[0]
    assert request.partition_key == "alpha"
    assert request.tags == {
        "jrn/source_id": str(world["source:main"]),
        "jrn/space": "alpha",
        "jrn/event_id": str(event.id),
        "jrn/head_sha": sha_for("a"),
        "jrn/integration_id": str(world["integration:gh"]),
        "jrn/mode": "event",
    }
    config = request.run_config["ops"]["clone"]["config"]
    assert config["sourceId"] == world["source:main"] and config["headSha"] == sha_for("a")
    assert len(set(run_keys(first))) == 5
    [additions] = first.dynamic_partitions_requests or []
    assert sorted(additions.partition_keys or []) == ["alpha", "beta", "gamma"]
    assert EventCursor.parse(first.cursor).last_id == event.id
    # Once the partitions exist, the same tick no longer adds them.
    instance.add_dynamic_partitions(SPACES, ["alpha", "beta", "gamma"])
    assert not tick(instance, database, None).dynamic_partitions_requests


def test_the_cursor_moves_past_events_that_match_nothing(
    instance: DagsterInstance, database: Database
) -> None:
    matching_world(database)
    unrelated = [
        store_push(database, owner="nobody"),
        store_push(database, tag="v1"),
        store_event(database, {"zen": "hi"}, event_type="ping"),
    ]
    result = tick(instance, database, None)
    assert requests_of(result) == []
    assert result.skip_reason is not None
    assert "3 event(s) read" in (result.skip_reason.skip_message or "")
    assert "1 no_true_source" in (result.skip_reason.skip_message or "")
    assert EventCursor.parse(result.cursor).last_id == unrelated[-1].id
    assert requests_of(tick(instance, database, result.cursor)) == []


def test_batches_are_bounded(
    instance: DagsterInstance, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    matching_world(database)
    monkeypatch.setattr(jrn_dagster.sensors, "EVENTS_PER_TICK", 2)
    events = [
        store_push(database, before=sha_for(f"b{i}"), after=sha_for(f"a{i}")) for i in range(5)
    ]
    cursor, seen = None, []
    for _ in range(3):
        result = tick(instance, database, cursor)
        seen.append({request.tags["jrn/event_id"] for request in requests_of(result)})
        cursor = result.cursor
    assert seen == [
        {str(events[0].id), str(events[1].id)},
        {str(events[2].id), str(events[3].id)},
        {str(events[4].id)},
    ]


def test_an_event_that_matches_only_virtual_sources_leaves_no_trace(
    instance: DagsterInstance, database: Database
) -> None:
    with database.unit_of_work() as uow:
        uow.integrations.add_token("gh", token_env="GH_TOKEN")
        uow.sources.add("local-only", repo="github.com/acme/local-only")
        uow.spaces.add("notes")
        uow.spaces.bind("notes", "local-only")
        uow.commit()
    store_push(database, repo="local-only")
    before = table_snapshot(database)
    result = tick(instance, database, None)
    assert requests_of(result) == []
    assert not result.dynamic_partitions_requests
    assert instance.get_dynamic_partitions(SPACES) == []
    assert instance.get_runs() == []
    assert table_snapshot(database) == before


def test_an_invalid_payload_does_not_block_the_events_behind_it(
    instance: DagsterInstance, database: Database
) -> None:
    matching_world(database)
    bad = store_event(database, {"ref": "refs/heads/main"})  # stored by hand, not by receiver
    good = store_push(database, before=sha_for("b"), after=sha_for("a"))
    result = tick(instance, database, None)
    assert {request.tags["jrn/event_id"] for request in requests_of(result)} == {str(good.id)}
    assert EventCursor.parse(result.cursor).last_id == good.id > bad.id


def test_an_event_committed_late_is_still_handled(
    instance: DagsterInstance, database: Database
) -> None:
    """Ids are handed out at insert: a slow transaction can make event N visible after N+1."""
    matching_world(database)
    payload = push_payload(before=sha_for("b1"), after=sha_for("a1"))
    late_session = database.unit_of_work()
    late_session.events.store(
        delivery_id="late", event_type="push", payload=payload, headers={}
    )  # id allocated (PostgreSQL) or, on SQLite, the write lock is held
    if database.dialect == "sqlite":
        late_session.commit()  # SQLite serialises writers: simulate the hole by hand below
    early = store_push(database, before=sha_for("b2"), after=sha_for("a2"))
    if database.dialect == "sqlite":
        with database.engine.begin() as connection:  # make "late" invisible, as if uncommitted
            connection.exec_driver_sql(
                "UPDATE webhook_events SET id = -id WHERE delivery_id = 'late'"
            )
    first = tick(instance, database, None)
    cursor = EventCursor.parse(first.cursor)
    assert [r.tags["jrn/event_id"] for r in requests_of(first)][:1] == [str(early.id)]
    hole = early.id - 1
    assert hole in cursor.holes
    if database.dialect == "sqlite":
        with database.engine.begin() as connection:
            connection.exec_driver_sql(
                f"UPDATE webhook_events SET id = {hole} WHERE delivery_id = 'late'"  # noqa: S608
            )
    else:
        late_session.commit()
    late_session.__exit__(None, None, None)
    second = tick(instance, database, first.cursor)
    assert {r.tags["jrn/event_id"] for r in requests_of(second)} == {str(hole)}
    assert EventCursor.parse(second.cursor).holes == {}
    assert json.loads(second.cursor or "{}")["last_id"] == early.id
