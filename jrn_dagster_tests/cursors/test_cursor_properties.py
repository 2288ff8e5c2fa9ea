"""DESIGN §6.4 under random completion orders, failures and retries, on both databases.

A model of the real flow: the sensor launches every (event, space) run in event order; then,
in any order, runs are claimed (clone), fail (the failure sensor records it), are re-executed
(a new run), or succeed (advance_cursor). After every step the source cursor must never have
moved backwards and must only stand at an event that every affected space has processed,
together with everything before it.
"""

import itertools
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.services.cursor_advance import LaunchedRun, advance_cursors
from jrn_dagster_tests.support.databases import empty_all_tables
from jrn_dagster_tests.support.runs import claim, event_of, head_of

SPACES = ("s1", "s2", "s3")


@dataclass
class Run:
    event_id: int
    space: str
    run_id: str
    state: str = "launched"  # launched -> claimed -> succeeded | failed
    workspace: object = None


@dataclass
class Model:
    fanout: dict[int, list[str]]
    runs: list[Run] = field(default_factory=list)
    succeeded: set[tuple[int, str]] = field(default_factory=set)
    cursor: int | None = None
    binding: dict[str, int] = field(default_factory=dict)


def world(database: Database) -> tuple[int, int, dict[str, int]]:
    with database.unit_of_work() as uow:
        uow.integrations.add_token("gh", token_env="GH_TOKEN")
        source = uow.sources.add(
            "widgets", repo="github.com/acme/widgets", branch="main", integration="gh"
        )
        ids = {}
        for slug in SPACES:
            ids[slug] = uow.spaces.add(slug).id
            uow.spaces.bind(slug, "widgets")
        uow.commit()
    return source.id, source.integration_id or 0, ids


fanouts = st.lists(
    st.lists(st.sampled_from(SPACES), min_size=1, max_size=3, unique=True), min_size=1, max_size=4
)
steps = st.lists(
    st.tuples(st.sampled_from(["claim", "fail", "succeed", "retry"]), st.integers(0, 50)),
    max_size=40,
)


def check(database: Database, model: Model, source_id: int, space_ids: dict[str, int]) -> None:
    with database.unit_of_work() as uow:
        cursor = uow.cursors.source_cursor(source_id, "main")
        cursor_event = cursor.event_id if cursor else None
        if cursor is not None:
            assert cursor.head_sha == head_of(cursor.event_id or 0)
        for slug, space_id in space_ids.items():
            covered = uow.cursors.binding_cursor(space_id, source_id, "main")
            if covered is not None:
                head = event_of(covered.head_sha)
                assert head >= model.binding.get(slug, -1), "binding cursor moved backwards"
                model.binding[slug] = head
    if model.cursor is not None:
        assert cursor_event is not None and cursor_event >= model.cursor, "cursor moved backwards"
    if cursor_event is not None:
        for event_id, spaces in model.fanout.items():
            if event_id <= cursor_event:
                for slug in spaces:
                    assert (event_id, slug) in model.succeeded, (
                        f"cursor at {cursor_event} but ({event_id}, {slug}) never succeeded"
                    )
    model.cursor = cursor_event


def launched(model: Model, space_ids: dict[str, int], exclude: Run) -> list[LaunchedRun]:
    return [
        LaunchedRun(run.run_id, run.event_id, run.space)
        for run in model.runs
        if run is not exclude and run.state != "succeeded"
    ]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fanout_lists=fanouts, script=steps)
def test_cursor_invariants_hold_after_every_step(
    database: Database, fanout_lists: list[list[str]], script: list[tuple[str, int]]
) -> None:
    empty_all_tables(database)
    source_id, integration_id, space_ids = world(database)
    model = Model(fanout={i + 1: sorted(spaces) for i, spaces in enumerate(fanout_lists)})
    counter = itertools.count()
    for event_id, spaces in model.fanout.items():  # the sensor, in event order
        for slug in spaces:
            model.runs.append(Run(event_id, slug, f"run-{next(counter)}"))

    def step(action: str, pick: int) -> None:
        candidates = {
            "claim": [r for r in model.runs if r.state == "launched"],
            "fail": [r for r in model.runs if r.state in ("launched", "claimed")],
            "succeed": [r for r in model.runs if r.state == "claimed"],
            "retry": [r for r in model.runs if r.state == "failed"],
        }[action]
        if not candidates:
            return
        run = candidates[pick % len(candidates)]
        if action == "claim":
            run.workspace = claim(
                database,
                source_id=source_id,
                integration_id=integration_id,
                event_id=run.event_id,
                space_id=space_ids[run.space],
                space_slug=run.space,
                fanout=[space_ids[s] for s in model.fanout[run.event_id]],
                run_id=run.run_id,
            )
            run.state = "claimed"
        elif action == "fail":
            with database.unit_of_work() as uow:
                uow.runs.fail_unfinished(run.run_id, "boom")
                uow.commit()
            run.state = "failed"
        elif action == "retry":  # re-executed from the UI: a new run, launched again
            run.state = "retried"
            model.runs.append(Run(run.event_id, run.space, f"run-{next(counter)}"))
        else:
            advance_cursors(database, run.workspace, launched(model, space_ids, run))  # type: ignore[arg-type]
            run.state = "succeeded"
            model.succeeded.add((run.event_id, run.space))

    for action, pick in script:
        step(action, pick)
        check(database, model, source_id, space_ids)
    # Liveness: once every run is retried until it succeeds, the cursor reaches the last event.
    for _ in range(100):
        pending = [r for r in model.runs if r.state in ("launched", "claimed", "failed")]
        if not pending:
            break
        run = pending[0]
        step({"launched": "claim", "claimed": "succeed", "failed": "retry"}[run.state], 0)
        check(database, model, source_id, space_ids)
    assert model.cursor == max(model.fanout)
