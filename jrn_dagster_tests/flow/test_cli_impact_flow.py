"""A push through the sensor and the partitioned job, in process, on both databases."""

from pathlib import Path

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.runner import evaluate_sensor, requests_of, run_requested
from jrn_dagster.demo.scenario import API_SPACE, GUIDES_SPACE, push_change
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.records import ChangesetStatus
from jrn_dagster.jobs import SPACES
from jrn_dagster_tests.support.flow import demo_flow


def test_one_push_fans_out_and_moves_the_cursor(database: Database, tmp_path: Path) -> None:
    with demo_flow(database, tmp_path) as flow:
        before = flow.world.remote.head()
        event = push_change(database, flow.world)
        result = evaluate_sensor(flow.instance, flow.resources, EventCursor().serialize())
        assert sorted(r.partition_key or "" for r in requests_of(result)) == [
            API_SPACE,
            GUIDES_SPACE,
        ]
        assert sorted(flow.instance.get_dynamic_partitions(SPACES)) == [API_SPACE, GUIDES_SPACE]
        outcomes = run_requested(flow.instance, flow.resources, requests_of(result))
        assert all(o.success for o in outcomes), outcomes
        after = flow.world.remote.head()

        with database.unit_of_work() as uow:
            source = uow.sources.get(flow.world.source_id)
            assert [(c.branch, c.head_sha, c.event_id) for c in source.cursors] == [
                ("main", after, event.id)
            ]
            changesets = {uow.spaces.get(c.space_id).slug: c for c in uow.changesets.all()}
        api = changesets[API_SPACE]
        assert api.status is ChangesetStatus.OPEN
        assert [d.path for d in api.docs] == ["reference/routes.md"]
        routes = api.docs[0]
        assert routes.base_version == 1
        assert "jrn:source-changed:start source=widgets" in routes.proposed_content
        assert before and after
        assert before[:12] in routes.proposed_content and after[:12] in routes.proposed_content
        guides = changesets[GUIDES_SPACE]
        assert [d.path for d in guides.docs] == ["getting-started.md"]
        # sandboxes were released with the runs
        assert list(flow.sandbox_dir.iterdir()) == []


def test_a_relaunched_event_run_does_no_new_work(database: Database, tmp_path: Path) -> None:
    """Same run config and tags under a new run key (e.g. a renamed code location): the records
    say it is done, so it ends at once without a second changeset."""
    with demo_flow(database, tmp_path) as flow:
        push_change(database, flow.world)
        result = evaluate_sensor(flow.instance, flow.resources, None)
        assert all(
            o.success for o in run_requested(flow.instance, flow.resources, requests_of(result))
        )
        relaunched = [
            request._replace(run_key=f"{request.run_key}-again")  # type: ignore[attr-defined]
            for request in requests_of(result)
        ]
        outcomes = run_requested(flow.instance, flow.resources, relaunched)
        assert all(o.success and o.run_id for o in outcomes)
        with database.unit_of_work() as uow:
            assert len(uow.changesets.all()) == 2
            statuses = {
                r.status for o in outcomes for r in uow.coverage.pushes_by_run(o.run_id or "")
            }
            ranges = [r for o in outcomes for r in uow.coverage.ranges_by_run(o.run_id or "")]
        assert statuses == set()  # the relaunched runs claimed nothing: every push was done
        assert ranges == []
