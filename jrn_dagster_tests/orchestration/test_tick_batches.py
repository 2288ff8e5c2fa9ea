"""The sensor's tick is set-based and coalesces bursts (docs/cursors.md, "Bursts";
docs/benchmarks.md, B1): a fixed number of statements whatever the batch, one run per space for
a chain of pushes of one source branch, and the same pushes always give the same run keys."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.records import WebhookEvent
from jrn_dagster.services.sensor_tick import TickPlan, plan_tick
from jrn_dagster_tests.support.github import sha_for
from jrn_dagster_tests.support.world import matching_world, store_push

MAX_TICK_STATEMENTS = 5


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def tick(database: Database, *, after: int = 0, batch: int = 1000) -> TickPlan:
    return plan_tick(database, EventCursor(last_id=after), batch_size=batch, now=0.0)


def chain(database: Database, count: int, *, start: str = "c0", **fields: object) -> list[str]:
    """``count`` pushes to main of acme/widgets, each starting where the previous ended."""
    heads = [sha_for(start)]
    for i in range(count):
        heads.append(sha_for(f"{start}-{i + 1}"))
        store_push(database, before=heads[-2], after=heads[-1], **fields)
    return heads


def unrelated_pushes(database: Database, count: int) -> list[WebhookEvent]:
    """Pushes that each start a run of their own: to several repositories and branches, none
    continuing another."""
    stored = []
    for i in range(count):
        repo, branch = ("widgets", "main") if i % 3 == 0 else ("gadgets", f"b{i % 7}")
        stored.append(
            store_push(
                database,
                repo=repo,
                branch=branch,
                before=sha_for(f"u{i}:before"),
                after=sha_for(f"u{i}:after"),
                installation_id=42 if i % 2 else None,
            )
        )
    return stored


def test_a_tick_costs_the_same_statements_at_any_batch_size(database: Database) -> None:
    matching_world(database)
    unrelated_pushes(database, 60)
    with counted(database) as small:
        few = tick(database, batch=6)
    with counted(database) as large:
        many = tick(database, batch=60)
    assert (few.events_read, many.events_read) == (6, 60)
    assert len(many.runs) > len(few.runs) > 0
    assert len(small) == len(large) <= MAX_TICK_STATEMENTS, (small, large)


def test_three_pushes_in_one_tick_are_one_run_per_space(database: Database) -> None:
    world = matching_world(database)
    heads = chain(database, 3)
    plan = tick(database)
    main_runs = [r for r in plan.runs if r.params.source_id == world["source:main"]]
    assert sorted(r.space_slug for r in main_runs) == ["alpha", "beta"]
    first, last = plan.matches[0].event_id, plan.matches[-1].event_id
    for run in main_runs:
        assert run.event_ids == (first, first + 1, last)
        assert run.run_key == f"{world['source:main']}@{first}-{last}|{run.space_slug}"
        assert (run.params.base_sha, run.params.head_sha) == (heads[0], heads[-1])
    # widgets-all follows every branch: its two spaces get one run each too.
    assert len(plan.runs) == 4
    assert "3 push(es) coalesced" in plan.summary()


def test_a_forced_push_splits_a_burst(database: Database) -> None:
    world = matching_world(database)
    heads = chain(database, 2)
    rewritten = sha_for("rewritten")
    store_push(database, before=heads[-1], after=rewritten, forced=True)
    store_push(database, before=rewritten, after=sha_for("on top"))
    plan = tick(database)
    ids = [m.event_id for m in plan.matches]
    alpha = [
        r
        for r in plan.runs
        if r.params.source_id == world["source:main"] and r.space_slug == "alpha"
    ]
    assert [r.event_ids for r in alpha] == [tuple(ids[:2]), tuple(ids[2:])]
    before_force, from_force = alpha
    assert (before_force.params.base_sha, before_force.params.head_sha) == (heads[0], heads[-1])
    # A forced push's base is the source cursor (none yet), never its ``before``.
    assert from_force.params.base_sha is None
    assert from_force.params.head_sha == sha_for("on top")


def test_pushes_that_do_not_follow_each_other_are_not_coalesced(database: Database) -> None:
    matching_world(database)
    store_push(database, before=sha_for("b"), after=sha_for("c"))  # delivered first
    store_push(database, before=sha_for("a"), after=sha_for("b"))  # the push before it
    plan = tick(database)
    assert {len(r.event_ids) for r in plan.runs} == {1}


def test_a_re_evaluated_tick_gives_the_same_run_keys(database: Database) -> None:
    matching_world(database)
    chain(database, 3)
    chain(database, 2, start="d0", branch="dev")
    first, again = tick(database), tick(database)
    assert [r.run_key for r in first.runs] == [r.run_key for r in again.runs]
    assert len(set(r.run_key for r in first.runs)) == len(first.runs)
    # A tick that sees only part of the burst (a smaller batch) names that part: other keys.
    partial = tick(database, batch=2)
    assert {r.event_ids for r in partial.runs} == {tuple(m.event_id for m in partial.matches)}
    assert not {r.run_key for r in partial.runs} & {r.run_key for r in first.runs}
