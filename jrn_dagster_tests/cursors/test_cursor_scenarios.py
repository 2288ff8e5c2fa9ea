"""The cursor scenarios of issue 7, step by step (synthetic linear history)."""

from dataclasses import dataclass

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.records import SpaceRunStatus
from jrn_dagster.domain.workspace import Workspace
from jrn_dagster.services.cursor_advance import LaunchedRun, advance_cursors
from jrn_dagster_tests.support.runs import claim, head_of


@dataclass
class Setup:
    source_id: int
    integration_id: int
    spaces: dict[str, int]


def setup(database: Database, slugs: list[str]) -> Setup:
    with database.unit_of_work() as uow:
        uow.integrations.add_token("gh", token_env="GH_TOKEN")
        source = uow.sources.add(
            "widgets", repo="github.com/acme/widgets", branch="main", integration="gh"
        )
        spaces = {slug: uow.spaces.add(slug).id for slug in slugs}
        for slug in slugs:
            uow.spaces.bind(slug, "widgets")
        uow.commit()
    return Setup(source.id, source.integration_id or 0, spaces)


def start(database: Database, s: Setup, event_id: int, slug: str, run_id: str) -> Workspace:
    return claim(
        database,
        source_id=s.source_id,
        integration_id=s.integration_id,
        event_id=event_id,
        space_id=s.spaces[slug],
        space_slug=slug,
        fanout=sorted(s.spaces.values()),
        run_id=run_id,
    )


def cursor_event(database: Database, s: Setup) -> int | None:
    with database.unit_of_work() as uow:
        cursor = uow.cursors.source_cursor(s.source_id, "main")
    return cursor.event_id if cursor else None


def fail(database: Database, run_id: str) -> None:
    with database.unit_of_work() as uow:
        uow.runs.fail_unfinished(run_id, "boom")
        uow.commit()


def test_three_spaces_move_the_cursor_only_when_the_third_succeeds(database: Database) -> None:
    s = setup(database, ["a", "b", "c"])
    runs = {slug: start(database, s, 1, slug, f"run-{slug}") for slug in "abc"}
    in_flight = lambda but: [LaunchedRun(f"run-{o}", 1, o) for o in "abc" if o != but]  # noqa: E731
    advance_cursors(database, runs["a"], in_flight("a"))
    assert cursor_event(database, s) is None
    fail(database, "run-b")  # b fails: it holds the cursor
    advance_cursors(database, runs["c"], in_flight("c"))
    assert cursor_event(database, s) is None
    retried = start(database, s, 1, "b", "run-b-again")  # re-executed from the UI
    advance_cursors(database, retried, [LaunchedRun("run-b", 1, "b")])  # the failed run is known
    assert cursor_event(database, s) == 1
    with database.unit_of_work() as uow:
        assert uow.cursors.source_cursor(s.source_id, "main").head_sha == head_of(1)  # type: ignore[union-attr]


def test_out_of_order_events_end_at_the_second_head_and_never_go_back(database: Database) -> None:
    s = setup(database, ["a", "b"])
    first = {slug: start(database, s, 1, slug, f"run-1-{slug}") for slug in "ab"}
    second = {slug: start(database, s, 2, slug, f"run-2-{slug}") for slug in "ab"}
    advance_cursors(database, first["a"], [LaunchedRun("run-1-b", 1, "b")])
    fail(database, "run-1-b")  # the first event's space b fails
    seen = []
    launched_failed = [LaunchedRun("run-1-b", 1, "b")]
    advance_cursors(database, second["a"], [*launched_failed, LaunchedRun("run-2-b", 2, "b")])
    seen.append(cursor_event(database, s))
    advance_cursors(database, second["b"], launched_failed)
    seen.append(cursor_event(database, s))  # both of event 2 done, but event 1 is not
    retried = start(database, s, 1, "b", "run-1-b-again")
    assert retried.checkouts[0].range.stale is False  # b covered 1..2 only: 0..1 is new
    advance_cursors(database, retried, launched_failed)
    seen.append(cursor_event(database, s))
    assert seen == [None, None, 2]
    with database.unit_of_work() as uow:
        covered = uow.cursors.binding_cursor(s.spaces["b"], s.source_id, "main")
        # the older event extended b's history downwards; its head stayed at event 2's
        assert covered is not None
        assert (covered.head_sha, covered.covered_from_sha) == (head_of(2), head_of(0))


def test_claiming_a_pair_that_is_done_again_changes_nothing(database: Database) -> None:
    s = setup(database, ["a"])
    for event_id in (1, 2):
        workspace = start(database, s, event_id, "a", f"run-{event_id}")
        advance_cursors(database, workspace, [])
    # event 1 claimed again (a relaunch under a new run key): the record says it is done
    replay = claim(
        database,
        source_id=s.source_id,
        integration_id=s.integration_id,
        event_id=1,
        space_id=s.spaces["a"],
        space_slug="a",
        fanout=[s.spaces["a"]],
        run_id="run-replay",
    )
    assert replay.checkouts[0].already_done  # same (event, space): done before
    with database.unit_of_work() as uow:
        record = uow.runs.get(replay.checkouts[0].space_run_id or 0)
        assert record.status is SpaceRunStatus.SUCCEEDED
