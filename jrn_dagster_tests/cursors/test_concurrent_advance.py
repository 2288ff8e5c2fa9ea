"""Concurrent advance_cursor calls never lose an update (threads; PostgreSQL row locks,
SQLite's write lock taken at BEGIN)."""

import threading

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.services.cursor_advance import LaunchedRun, advance_cursors
from jrn_dagster_tests.support.runs import claim, head_of

SPACE_COUNT = 8
ROUNDS = 3


def _finisher(
    database: Database,
    *,
    slugs: list[str],
    event_id: int,
    runs: dict[str, str],
    workspaces: dict,
    barrier: threading.Barrier,
    errors: list[BaseException],
):
    def finish(slug: str) -> None:
        launched = [LaunchedRun(runs[o], event_id, o) for o in slugs if o != slug]
        barrier.wait()  # all finishers start their transaction together
        try:
            advance_cursors(database, workspaces[slug], launched)
        except BaseException as error:
            errors.append(error)

    return finish


def test_the_last_of_many_concurrent_finishers_moves_the_cursor(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.integrations.add_token("gh", token_env="GH_TOKEN")
        source = uow.sources.add(
            "widgets", repo="github.com/acme/widgets", branch="main", integration="gh"
        )
        slugs = [f"space-{i}" for i in range(SPACE_COUNT)]
        space_ids = {slug: uow.spaces.add(slug).id for slug in slugs}
        for slug in slugs:
            uow.spaces.bind(slug, "widgets")
        uow.commit()
    for event_id in range(1, ROUNDS + 1):
        runs = {slug: f"run-{event_id}-{slug}" for slug in slugs}
        workspaces = {
            slug: claim(
                database,
                source_id=source.id,
                integration_id=source.integration_id or 0,
                event_id=event_id,
                space_id=space_ids[slug],
                space_slug=slug,
                fanout=sorted(space_ids.values()),
                run_id=runs[slug],
            )
            for slug in slugs
        }
        barrier = threading.Barrier(SPACE_COUNT)
        errors: list[BaseException] = []
        finish = _finisher(
            database,
            slugs=slugs,
            event_id=event_id,
            runs=runs,
            workspaces=workspaces,
            barrier=barrier,
            errors=errors,
        )

        threads = [threading.Thread(target=finish, args=(slug,)) for slug in slugs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with database.unit_of_work() as uow:
            cursor = uow.cursors.source_cursor(source.id, "main")
            assert cursor is not None
            assert (cursor.event_id, cursor.head_sha) == (event_id, head_of(event_id))
            for space_id in space_ids.values():
                covered = uow.cursors.binding_cursor(space_id, source.id, "main")
                assert covered is not None and covered.head_sha == head_of(event_id)
