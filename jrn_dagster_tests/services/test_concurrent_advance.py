"""Concurrent advance_cursor calls never lose an update (threads; PostgreSQL row locks,
SQLite's write lock taken at BEGIN): the last of many finishers moves the source cursor."""

import threading

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.steps import Checkouts
from jrn_dagster.services.advance_cursor import advance_cursors
from jrn_dagster_tests.support.runs import head_of, linear_source, push, start_run

SPACE_COUNT = 8
ROUNDS = 3


def _finish_together(database: Database, checkout_sets: list[Checkouts]) -> list[BaseException]:
    barrier = threading.Barrier(len(checkout_sets))
    errors: list[BaseException] = []

    def finish(checkouts: Checkouts) -> None:
        barrier.wait()  # all finishers start their transaction together
        try:
            advance_cursors(database, checkouts, dagster_run_id=checkouts.plan.space_slug)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=finish, args=(w,)) for w in checkout_sets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_the_last_of_many_concurrent_finishers_moves_the_cursor(database: Database) -> None:
    slugs = [f"space-{i}" for i in range(SPACE_COUNT)]
    source = linear_source(database, slugs)
    for n in range(1, ROUNDS + 1):
        event = push(database, n)
        checkout_sets = [
            start_run(database, source, event, n, slug, run_id=f"run-{n}-{slug}") for slug in slugs
        ]
        assert _finish_together(database, checkout_sets) == []
        with database.unit_of_work() as uow:
            cursor = uow.coverage.source_cursor(source.source_id, "main")
            assert cursor is not None
            assert (cursor.event_id, cursor.head_sha) == (event.id, head_of(n))
            for space_id in source.spaces.values():
                covered = uow.coverage.binding_cursor(space_id, source.source_id, "main")
                assert covered is not None and covered.head_sha == head_of(n)
