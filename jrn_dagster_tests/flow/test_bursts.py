"""Bursts (docs/cursors.md, "Bursts"): pushes of one source branch seen in one tick become one
run per space that covers the whole range, claims every push it covers and finishes them all;
a forced push splits a burst. On a real repository, through ingested pushes, the real sensor and
real runs, on SQLite and PostgreSQL."""

from pathlib import Path

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.runner import RunOutcome, evaluate_sensor, requests_of, run_requested
from jrn_dagster.demo.scenario import API_SPACE, GUIDES_SPACE, ingest_push, push_change
from jrn_dagster.domain.coverage import Comparison
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.records import SpacePushStatus, WebhookEvent
from jrn_dagster.tags import EVENT_ID, EVENT_IDS
from jrn_dagster_tests.support.cli import run_cli
from jrn_dagster_tests.support.flow import Flow, demo_flow

SPACES = (API_SPACE, GUIDES_SPACE)


def tick_and_run(flow: Flow, first: WebhookEvent) -> list[RunOutcome]:
    """One tick over every push from ``first`` on, and every run it requests."""
    cursor = EventCursor(last_id=first.id - 1).serialize()
    requests = requests_of(evaluate_sensor(flow.instance, flow.resources, cursor))
    outcomes = run_requested(flow.instance, flow.resources, requests)
    assert all(o.success for o in outcomes), outcomes
    return outcomes


def statuses(flow: Flow, events: list[WebhookEvent]) -> dict[tuple[int, int], SpacePushStatus]:
    with flow.database.unit_of_work() as uow:
        return {
            (record.event_id, record.space_id): record.status
            for event in events
            for record in uow.coverage.pushes_of_event(event.id)
        }


def cursors(flow: Flow) -> tuple[str | None, set[str | None]]:
    """(source cursor head, binding cursor heads) of main."""
    with flow.database.unit_of_work() as uow:
        source = uow.coverage.source_cursor(flow.world.source_id, "main")
        bindings = [
            uow.coverage.binding_cursor(uow.spaces.get_by_slug(s).id, flow.world.source_id, "main")
            for s in SPACES
        ]
    return source.head_sha if source else None, {b.head_sha if b else None for b in bindings}


def test_three_pushes_in_one_tick_are_one_run_per_space_that_finishes_them_all(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        tick_and_run(flow, start := push_change(database, flow.world))
        base = start.payload["after"]
        pushes = [push_change(database, flow.world) for _ in range(3)]
        head = pushes[-1].payload["after"]

        outcomes = tick_and_run(flow, pushes[0])
        first, last = pushes[0].id, pushes[-1].id
        source = flow.world.source_id
        assert sorted(o.run_key for o in outcomes) == sorted(
            f"{source}@{first}-{last}|{space}" for space in SPACES
        )
        for outcome in outcomes:
            run = flow.instance.get_run_by_id(outcome.run_id or "")
            assert run is not None
            assert run.tags[EVENT_IDS] == ",".join(str(p.id) for p in pushes)
            assert run.tags[EVENT_ID] == str(last)
            with database.unit_of_work() as uow:
                [processed] = uow.coverage.ranges_by_run(run.run_id)
                claimed = uow.coverage.pushes_by_run(run.run_id)
            assert (processed.base_sha, processed.head_sha) == (base, head)
            # The run claimed and finished every push it covers.
            assert sorted(r.event_id for r in claimed) == [p.id for p in pushes]
        assert set(statuses(flow, pushes).values()) == {SpacePushStatus.SUCCEEDED}
        assert len(statuses(flow, pushes)) == len(pushes) * len(SPACES)
        assert cursors(flow) == (head, {head})
        explained = run_cli(database_url, "match", str(pushes[1].id), "--explain")
        together = ", ".join(str(p.id) for p in pushes)
        assert explained.stdout.count(f"with pushes {together} in one run") == len(SPACES)

        # The same tick evaluated again requests the same keys: nothing new is launched.
        again = tick_and_run(flow, pushes[0])
        assert all(o.run_id is None for o in again)


def test_a_forced_push_in_a_burst_splits_it_and_the_cursors_follow_the_rewrite(
    database: Database, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        remote = flow.world.remote
        tick_and_run(flow, start := push_change(database, flow.world))
        base = start.payload["after"]
        before_force = [push_change(database, flow.world) for _ in range(2)]
        old_head = before_force[-1].payload["after"]
        rewritten = remote.commit_on(base, {"src/cli/main.py": "def main(): ...\n"}, "cli only")
        remote.force_push(rewritten)
        forced = ingest_push(database, flow.world, before=old_head, after=rewritten, forced=True)
        on_top = push_change(database, flow.world)
        head = on_top.payload["after"]

        outcomes = tick_and_run(flow, before_force[0])
        source = flow.world.source_id
        assert sorted(o.run_key for o in outcomes) == sorted(
            key
            for space in SPACES
            for key in (
                f"{source}@{before_force[0].id}-{before_force[1].id}|{space}",
                f"{source}@{forced.id}-{on_top.id}|{space}",
            )
        )
        # The burst before the forced push ends at a head that left the branch: its runs find
        # nothing to do and finish its pushes as skipped (as one run per push would have).
        by_event = statuses(flow, [*before_force, forced, on_top])
        assert len(by_event) == 4 * len(SPACES)
        for (event_id, _), status in by_event.items():
            expected = (
                SpacePushStatus.SKIPPED if event_id < forced.id else SpacePushStatus.SUCCEEDED
            )
            assert status is expected, (event_id, status)
        with database.unit_of_work() as uow:
            ranges = {o.run_key: uow.coverage.ranges_by_run(o.run_id or "") for o in outcomes}
        for key, processed in ranges.items():
            if key.startswith(f"{source}@{before_force[0].id}-"):
                assert processed == []
                continue
            # The rewrite burst: from what the space processed (base, still in the new
            # history) to the newest head.
            [rewrite] = processed
            assert (rewrite.base_sha, rewrite.head_sha) == (base, head)
            assert rewrite.comparison is Comparison.BINDING_CURSOR
        assert cursors(flow) == (head, {head})
