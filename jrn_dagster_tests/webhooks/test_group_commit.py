"""Group commit: deliveries stored together, each answered with its own outcome, one bad delivery
refusing no other (docs/webhooks.md#group-commit)."""

import asyncio
import time
from collections.abc import Sequence

import pytest
from sqlalchemy import exc

import jrn_dagster.webhooks.store as store_module
from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.webhooks.deliveries import Delivery, prepare_delivery
from jrn_dagster.webhooks.group_commit import GroupCommitter
from jrn_dagster.webhooks.store import StoredDelivery, store_delivery, store_group
from jrn_dagster_tests.support.github import encode, installation_payload, push_payload, sha_for
from jrn_dagster_tests.support.receiver import stored_events


def _push(delivery_id: str, after: str | None = None) -> Delivery:
    body = encode(push_payload(after=sha_for(after or delivery_id)))
    return prepare_delivery(event_type="push", delivery_id=delivery_id, body=body, headers={})


def _stored(outcomes: Sequence[object]) -> list[StoredDelivery]:
    assert all(isinstance(outcome, StoredDelivery) for outcome in outcomes), outcomes
    return [outcome for outcome in outcomes if isinstance(outcome, StoredDelivery)]


def test_a_group_stores_each_delivery_once_and_answers_each_in_order(database: Database) -> None:
    earlier = store_delivery(database, _push("known"))
    group = [_push("a"), _push("known"), _push("b"), _push("a"), _push("other-event-type")]
    group[4] = prepare_delivery(
        event_type="issues", delivery_id="issue-1", body=b'{"action": "opened"}', headers={}
    )

    outcomes = _stored(store_group(database, group))

    assert [outcome.created for outcome in outcomes] == [True, False, True, False, True]
    assert outcomes[1].event == earlier.event
    assert outcomes[3].event == outcomes[0].event  # the first copy in the group created it
    events = stored_events(database)
    assert [event.delivery_id for event in events] == ["known", "a", "b", "issue-1"]
    # Ids only grow and none is used up by a redelivery (the sensor's cursor).
    assert [event.id for event in events] == list(range(events[0].id, events[0].id + 4))
    by_id = {event.id: event for event in events}
    assert by_id[outcomes[0].event.id].payload == group[0].payload
    with database.unit_of_work() as uow:
        [push] = uow.events.pushes_by_id([outcomes[2].event.id])
    assert push.after_sha == sha_for("b")


def test_a_delivery_stored_again_in_a_later_group_is_a_duplicate(database: Database) -> None:
    [first] = _stored(store_group(database, [_push("x"), _push("y")]))[:1]
    again = _stored(store_group(database, [_push("z"), _push("x")]))

    assert [outcome.created for outcome in again] == [True, False]
    assert again[1].event.id == first.event.id
    assert len(stored_events(database)) == 3


def test_a_failing_group_is_stored_delivery_by_delivery(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure that may be one delivery's (not an outage) refuses only that delivery."""

    def failing_group(*_: object) -> None:
        raise KeyError("one bad delivery")

    real_store = store_module.store_delivery

    def store_unless_bad(database: Database, delivery: Delivery) -> StoredDelivery:
        if delivery.delivery_id == "bad":
            raise ValueError("refused")
        return real_store(database, delivery)

    monkeypatch.setattr(store_module, "store_deliveries", failing_group)
    monkeypatch.setattr(store_module, "store_delivery", store_unless_bad)

    outcomes = store_group(database, [_push("good-1"), _push("bad"), _push("good-2")])

    assert isinstance(outcomes[0], StoredDelivery) and outcomes[0].created
    assert isinstance(outcomes[1], ValueError)
    assert isinstance(outcomes[2], StoredDelivery) and outcomes[2].created
    assert [event.delivery_id for event in stored_events(database)] == ["good-1", "good-2"]


def test_an_unavailable_database_refuses_the_whole_group(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*_: object) -> None:
        raise exc.OperationalError("INSERT", {}, ConnectionError("connection refused"))

    monkeypatch.setattr(store_module, "store_deliveries", unavailable)
    monkeypatch.setattr(store_module, "store_delivery", unavailable)

    outcomes = store_group(database, [_push("a"), _push("b")])

    assert [type(outcome) for outcome in outcomes] == [exc.OperationalError] * 2
    assert stored_events(database) == []


def _recording_committer(
    groups: list[list[str]], groups_in_flight: int = 1, **limits: int
) -> GroupCommitter:
    def store(deliveries: Sequence[Delivery]) -> list[object]:
        groups.append([delivery.delivery_id for delivery in deliveries])
        return [delivery.delivery_id for delivery in deliveries]

    return GroupCommitter(store, groups_in_flight=groups_in_flight, **limits)


def test_deliveries_that_wait_for_a_busy_database_are_committed_together() -> None:
    groups: list[list[str]] = []

    async def scenario() -> list[object]:
        committer = _recording_committer(groups, max_group_deliveries=4)
        return await asyncio.gather(
            *(committer.store(_push(f"d{n}"), size=1, queue_timeout=5) for n in range(8))
        )

    outcomes = asyncio.run(scenario())

    assert outcomes == [f"d{n}" for n in range(8)]  # each request gets its own outcome
    # The first arrives alone (nothing waits for a timer); the rest waited and were grouped.
    assert groups == [["d0"], ["d1", "d2", "d3", "d4"], ["d5", "d6", "d7"]]


def test_groups_are_bounded_by_bytes_and_a_lifecycle_delivery_goes_alone() -> None:
    groups: list[list[str]] = []
    lifecycle = prepare_delivery(
        event_type="installation",
        delivery_id="lifecycle",
        body=encode(installation_payload("created", installation_id=7, repositories=[])),
        headers={},
    )
    assert lifecycle.installation is not None

    async def scenario() -> None:
        committer = _recording_committer(groups, max_group_bytes=250)
        sizes = [100, 100, 100, 100, 100, 100]
        deliveries = [_push(f"d{n}") for n in range(6)]
        deliveries.insert(3, lifecycle)
        sizes.insert(3, 10)
        await asyncio.gather(
            *(
                committer.store(delivery, size=size, queue_timeout=5)
                for delivery, size in zip(deliveries, sizes, strict=True)
            )
        )

    asyncio.run(scenario())

    assert groups == [["d0"], ["d1", "d2"], ["lifecycle"], ["d3", "d4"], ["d5"]]


def test_a_delivery_no_group_takes_in_time_is_refused_and_not_stored() -> None:
    stored: list[str] = []

    def slow_store(deliveries: Sequence[Delivery]) -> list[object]:
        time.sleep(0.5)
        stored.extend(delivery.delivery_id for delivery in deliveries)
        return list(stored)

    async def scenario() -> list[object]:
        committer = GroupCommitter(slow_store, groups_in_flight=1)
        first = asyncio.ensure_future(committer.store(_push("first"), size=1, queue_timeout=5))
        await asyncio.sleep(0)
        results = await asyncio.gather(
            committer.store(_push("late"), size=1, queue_timeout=0.1), return_exceptions=True
        )
        return [await first, *results]

    first, late = asyncio.run(scenario())

    assert first == "first"
    assert isinstance(late, TimeoutError)
    assert stored == ["first"]


def test_a_request_that_goes_away_before_its_group_is_not_stored_later() -> None:
    stored: list[str] = []

    def slow_store(deliveries: Sequence[Delivery]) -> list[object]:
        time.sleep(0.3)
        stored.extend(delivery.delivery_id for delivery in deliveries)
        return [delivery.delivery_id for delivery in deliveries]

    async def scenario() -> None:
        committer = GroupCommitter(slow_store, groups_in_flight=1)
        first = asyncio.ensure_future(committer.store(_push("first"), size=1, queue_timeout=5))
        await asyncio.sleep(0)
        gone = asyncio.ensure_future(committer.store(_push("gone"), size=1, queue_timeout=5))
        await asyncio.sleep(0.05)
        gone.cancel()
        assert await first == "first"
        await asyncio.sleep(0.4)  # a group that took "gone" would have stored it by now

    asyncio.run(scenario())

    assert stored == ["first"]
