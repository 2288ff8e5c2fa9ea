"""The edges of "every change reaches every bound space, once, and the cursor never claims more
than was processed" (docs/cursors.md), on a real repository, through ingested pushes, the real
sensor and real runs, on SQLite and PostgreSQL."""

from pathlib import Path

from sqlalchemy import text

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.runner import RunOutcome
from jrn_dagster.demo.scenario import API_SPACE, GUIDES_SPACE, ingest_push, push_change
from jrn_dagster.domain.coverage import Comparison, Extension
from jrn_dagster.domain.records import SpacePushStatus, SpaceRange, WebhookEvent
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster_tests.support.flow import Flow, demo_flow, run_request, space_request
from jrn_dagster_tests.support.world import store_event

SPACES = (API_SPACE, GUIDES_SPACE)


def run(flow: Flow, event: WebhookEvent, space: str) -> RunOutcome:
    return run_request(flow, space_request(flow, event, space))


def run_everywhere(flow: Flow, event: WebhookEvent) -> list[str]:
    outcomes = [run(flow, event, space) for space in SPACES]
    assert all(o.success and o.run_id for o in outcomes), outcomes
    return [o.run_id or "" for o in outcomes]


def source_cursor(flow: Flow) -> str | None:
    with flow.database.unit_of_work() as uow:
        cursor = uow.coverage.source_cursor(flow.world.source_id, "main")
    return cursor.head_sha if cursor else None


def binding_heads(flow: Flow) -> dict[str, str | None]:
    with flow.database.unit_of_work() as uow:
        heads = {}
        for slug in SPACES:
            space_id = uow.spaces.get_by_slug(slug).id
            covered = uow.coverage.binding_cursor(space_id, flow.world.source_id, "main")
            heads[slug] = covered.head_sha if covered else None
    return heads


def range_of(flow: Flow, run_id: str) -> SpaceRange:
    with flow.database.unit_of_work() as uow:
        [processed] = uow.coverage.ranges_by_run(run_id)
    return processed


def changed_files(processed: SpaceRange) -> dict[str, str]:
    """Changed file -> status, from the range's impact report."""
    report = processed.report or {}
    return {e["changedFile"]: e["status"] for doc in report["impacted"] for e in doc["evidence"]}


def commit(flow: Flow, files: dict[str, str], message: str) -> tuple[str, str]:
    """Commit and push to main without ingesting: (before, after)."""
    before = flow.world.remote.head() or ""
    return before, flow.world.remote.commit_and_push(files, message)


def routes(n: int) -> dict[str, str]:
    return {"src/api/routes.py": f"ROUTES = {list(range(n))}\n"}


def test_a_rewind_to_a_processed_head_runs_again_and_the_cursors_follow(
    database: Database, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        remote = flow.world.remote
        first = push_change(database, flow.world)
        run_everywhere(flow, first)
        b = first.payload["after"]
        second = push_change(database, flow.world)
        run_everywhere(flow, second)
        c = second.payload["after"]
        assert source_cursor(flow) == c

        # Forced push back to b, a head processed before: it runs again (a new run key).
        remote.force_push(b)
        rewind = ingest_push(database, flow.world, before=c, after=b, forced=True)
        runs = run_everywhere(flow, rewind)
        processed = range_of(flow, runs[0])
        assert (processed.base_sha, processed.head_sha) == (c, b)
        assert processed.comparison is Comparison.OLD_HEAD
        assert processed.extension is Extension.RESTART
        assert changed_files(processed) == {"src/api/routes.py": "modified"}
        assert source_cursor(flow) == b
        assert binding_heads(flow) == {slug: b for slug in SPACES}

        # The same head c again, by another push: it runs too, and the cursors follow.
        remote.force_push(c)
        again = ingest_push(database, flow.world, before=b, after=c)
        runs = run_everywhere(flow, again)
        assert range_of(flow, runs[0]).base_sha == b
        assert source_cursor(flow) == c
        assert binding_heads(flow) == {slug: c for slug in SPACES}
        with database.unit_of_work() as uow:
            keys = {r.tags["dagster/run_key"] for r in flow.instance.get_runs()}
            assert len(keys) == 8  # four pushes, two spaces: no request was dropped
            statuses = {r.status for e in (first, second, rewind, again)
                        for r in uow.coverage.pushes_of_event(e.id)}  # fmt: skip
        assert statuses == {SpacePushStatus.SUCCEEDED}


def test_a_diverged_forced_push_is_compared_with_the_old_head(
    database: Database, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        remote = flow.world.remote
        base = remote.head() or ""
        run_everywhere(flow, push_change(database, flow.world))
        old_head = remote.commit_and_push(
            {"src/api/models.py": "class Widget:\n    name: str\n    colour: str\n"}, "colour"
        )
        run_everywhere(flow, ingest_push(database, flow.world, before=remote.head() or "",
                                         after=old_head))  # fmt: skip
        # Rewrite: drop both commits, add one that only touches the CLI.
        new_head = remote.commit_on(base, {"src/cli/main.py": "def main(): ...\n"}, "cli only")
        remote.force_push(new_head)
        forced = ingest_push(database, flow.world, before=old_head, after=new_head, forced=True)
        [api_run, guides_run] = run_everywhere(flow, forced)
        processed = range_of(flow, api_run)
        assert processed.comparison is Comparison.OLD_HEAD
        assert processed.base_sha == old_head
        # Exactly the tree diff old head -> new head, with real statuses (nothing is "added").
        assert changed_files(processed) == {
            "src/api/models.py": "modified",
            "src/api/routes.py": "modified",
        }
        with database.unit_of_work() as uow:
            [changeset] = [c for c in uow.changesets.all() if c.dagster_run_id == api_run]
        [routes_doc] = [d for d in changeset.docs if d.path == "reference/routes.md"]
        assert "history was rewritten (forced push)" in routes_doc.proposed_content
        assert "no earlier commit" not in routes_doc.proposed_content
        assert range_of(flow, guides_run).comparison is Comparison.OLD_HEAD
        assert source_cursor(flow) == new_head
        assert binding_heads(flow) == {slug: new_head for slug in SPACES}


def test_push_2_delivered_and_finished_before_push_1(database: Database, tmp_path: Path) -> None:
    with demo_flow(database, tmp_path) as flow:
        start = push_change(database, flow.world)
        run_everywhere(flow, start)
        a = start.payload["after"]
        a_b = commit(flow, routes(1), "one")
        b_c = commit(flow, routes(2), "two")
        second = ingest_push(database, flow.world, before=b_c[0], after=b_c[1])
        first = ingest_push(database, flow.world, before=a_b[0], after=a_b[1])
        assert second.id < first.id  # delivered out of order

        runs = run_everywhere(flow, second)
        processed = range_of(flow, runs[0])
        # The space's cursor was at a: the range covers push 1 too, and says so.
        assert (processed.base_sha, processed.head_sha) == (a, b_c[1])
        assert source_cursor(flow) == b_c[1]
        with database.unit_of_work() as uow:
            covered = {r.status for r in uow.coverage.pushes_of_event(first.id)}
        assert covered == {SpacePushStatus.COVERED}

        late = [run(flow, first, space) for space in SPACES]  # ends at once: already covered
        assert all(o.success for o in late)
        with database.unit_of_work() as uow:
            assert [uow.coverage.ranges_by_run(o.run_id or "") for o in late] == [[], []]
        assert source_cursor(flow) == b_c[1]  # never back to b
        assert binding_heads(flow) == {slug: b_c[1] for slug in SPACES}


def _broken_clone(flow: Flow) -> RepositoryAccessResource:
    working = flow.resources["repository_access"]
    flow.resources["repository_access"] = RepositoryAccessResource(
        clone_url_template="file:///nonexistent/{host}/{owner}/{repo}.git"
    )
    return working


def test_push_1_failing_after_push_2_succeeded_holds_the_cursor_until_retried(
    database: Database, tmp_path: Path
) -> None:
    """No cursor yet: push 2's range starts at push 2's base, so push 1 is a missing link."""
    with demo_flow(database, tmp_path) as flow:
        a_b = commit(flow, routes(1), "one")
        b_c = commit(flow, routes(2), "two")
        first = ingest_push(database, flow.world, before=a_b[0], after=a_b[1])
        second = ingest_push(database, flow.world, before=b_c[0], after=b_c[1])
        run_everywhere(flow, second)
        assert source_cursor(flow) is None  # push 1 is stored and not processed: it holds
        assert binding_heads(flow) == {slug: b_c[1] for slug in SPACES}

        working = _broken_clone(flow)
        failed = [run(flow, first, space) for space in SPACES]
        assert not any(o.success for o in failed)
        assert source_cursor(flow) is None
        flow.resources["repository_access"] = working

        retried = [
            run_request(flow, space_request(flow, first, space)._replace(  # type: ignore[attr-defined]
                run_key=f"retry-{space}"))
            for space in SPACES
        ]  # fmt: skip
        assert all(o.success for o in retried)
        processed = range_of(flow, retried[0].run_id or "")
        assert (processed.base_sha, processed.extension) == (a_b[0], Extension.DOWN)
        assert source_cursor(flow) == b_c[1]


def _store_with_id(database: Database, event: WebhookEvent, event_id: int) -> None:
    """Give ``event`` the id ``event_id``: what a push whose insert got its id first, but
    committed last, looks like once it is visible."""
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE webhook_events SET id = :new WHERE id = :old"),
            {"new": event_id, "old": event.id},
        )


def test_an_event_id_hole_holds_the_cursor_until_the_push_is_visible(
    database: Database, tmp_path: Path
) -> None:
    with demo_flow(database, tmp_path) as flow:
        a_b = commit(flow, routes(1), "one")
        b_c = commit(flow, routes(2), "two")
        placeholder = store_event(database, {"zen": "reserved"}, event_type="ping")
        with database.engine.begin() as connection:  # push 1's id, not yet visible
            connection.execute(text("DELETE FROM webhook_events WHERE id = :id"),
                               {"id": placeholder.id})  # fmt: skip
        second = ingest_push(database, flow.world, before=b_c[0], after=b_c[1])
        run_everywhere(flow, second)
        assert source_cursor(flow) is None  # id `placeholder.id` may still be a push
        with database.unit_of_work() as uow:
            space_id = uow.spaces.get_by_slug(API_SPACE).id
            held = uow.coverage.binding_cursor(space_id, flow.world.source_id, "main")
        assert held is not None and held.covered_from_sha == b_c[0]

        first = ingest_push(database, flow.world, before=a_b[0], after=a_b[1])
        _store_with_id(database, first, placeholder.id)  # now visible, with its early id
        with database.unit_of_work() as uow:
            first = uow.events.get(placeholder.id)
        run_everywhere(flow, first)
        assert source_cursor(flow) == b_c[1]
