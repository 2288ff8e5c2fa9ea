"""Per-space commit ranges on a real repository: a space that missed an event covers it from its
own cursor; an older event whose range is already covered ends as stale."""

from pathlib import Path

from dagster import RunRequest

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.scenario import API_SPACE, push_change, push_files
from jrn_dagster.domain.coverage import Comparison
from jrn_dagster.domain.records import SpacePushStatus
from jrn_dagster_tests.support.flow import Flow, demo_flow, run_request, space_request


def run(flow: Flow, request: RunRequest) -> str:
    outcome = run_request(flow, request)
    assert outcome.success and outcome.run_id
    return outcome.run_id


def test_missed_event_is_covered_and_older_range_is_stale(
    database: Database, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        run(flow, space_request(flow, push_change(database, flow.world)))  # coverage starts
        models = push_files(
            database,
            flow.world,
            {"src/api/models.py": "class Widget:\n    name: str\n    size: int\n"},
            "grow Widget",
        )
        routes = push_change(database, flow.world)
        older, newer = space_request(flow, models), space_request(flow, routes)

        newer_run = run(flow, newer)  # api-docs has not processed `models` yet
        with database.unit_of_work() as uow:
            [record] = uow.coverage.ranges_by_run(newer_run)
            assert record.comparison is Comparison.BINDING_CURSOR
            impacted = {doc["path"]: doc for doc in (record.report or {})["impacted"]}
            # models.md watches src/api/models.py (keyword Widget): only the missed event touched it
            assert set(impacted) == {"reference/models.md", "reference/routes.md"}
            [evidence] = impacted["reference/models.md"]["evidence"]
            assert evidence["keyword"] == "Widget"

        older_run = run(flow, older)  # its range is inside what api-docs now covers
        with database.unit_of_work() as uow:
            assert uow.coverage.ranges_by_run(older_run) == []  # nothing to process
            assert uow.coverage.pushes_by_run(older_run) == []  # it found its push done
            [record] = [
                r for r in uow.coverage.pushes_of_event(models.id) if r.space_id == record.space_id
            ]
            assert record.status is SpacePushStatus.COVERED  # by the newer run's range
            assert record.dagster_run_id == newer_run
            changesets = uow.changesets.all()
        assert len(changesets) == 2  # the first push, and the one covering both later pushes


def test_ranges_deeper_than_the_first_fetch(database: Database, tmp_path: Path) -> None:
    """The clone starts 20 commits deep; a space cursor 30 commits back, or a head 30 commits
    older than the cursor, must still be found (deepening), not taken for a rewritten history."""
    with demo_flow(database, tmp_path) as flow:
        first = push_files(database, flow.world, {"src/api/routes.py": "R = 0\n"}, "r0")
        early = push_files(database, flow.world, {"src/api/routes.py": "R = 1\n"}, "r1")
        run(flow, space_request(flow, first))
        for n in range(30):
            push_files(database, flow.world, {f"notes/{n}.txt": f"{n}\n"}, f"note {n}")
        last = push_files(database, flow.world, {"src/api/models.py": "class Widget: ...\n"}, "m")

        late = run(flow, space_request(flow, last))  # missed 31 events: covered from its cursor
        with database.unit_of_work() as uow:
            [record] = uow.coverage.ranges_by_run(late)
        assert record.comparison is Comparison.BINDING_CURSOR
        changed = {s["changedFiles"] for s in (record.report or {})["sources"]}
        assert changed == {32}  # routes (r1), 30 notes, models

        older = run(flow, space_request(flow, early))  # 31 commits older than the cursor
        with database.unit_of_work() as uow:
            assert uow.coverage.ranges_by_run(older) == []
            assert uow.coverage.pushes_by_run(older) == []  # already covered: it claimed nothing
            cursor = uow.coverage.binding_cursor(
                uow.spaces.get_by_slug(API_SPACE).id, flow.world.source_id, "main"
            )
        assert cursor is not None and cursor.head_sha == flow.world.remote.head()
