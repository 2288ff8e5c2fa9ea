"""End to end, as operators run it: ``dagster dev -w workspace.yaml`` (webserver, daemon, code
server) on the project's instance config, ``jrn-dagster webhooks serve``, a real git remote.

1. A signed GitHub push goes in over HTTP, twice (a redelivery); the sensor launches one run per
   affected space; the runs are followed through Dagster's GraphQL API, then the event, the run
   records, the changesets and the cursors are checked in the application database.
2. The recovery tools operators use, through the GraphQL mutations the UI sends: clearing the
   sensor cursor re-evaluates every event and launches nothing new; a commit that never got a
   webhook is caught up by a partition backfill of both spaces with no run config; runs that
   failed while the repository was unreachable succeed when re-executed from the failure.

One test per backend, its steps in order on one deployment: PostgreSQL for both the application
and Dagster's storage (``deploy/dagster.postgres.yaml``), and SQLite files (the root
``dagster.yaml``). One test rather than one per step keeps each deployment on one xdist worker
whatever the distribution mode (``xdist_group`` needs ``--dist loadgroup``, which pytest 9.2
breaks: xdist renames items through ``item._nodeid``, which pytest 9 no longer reads).
"""

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from jrn_dagster import tags
from jrn_dagster.demo.scenario import API_SPACE, GUIDES_SPACE
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.records import (
    Changeset,
    ChangesetStatus,
    SpacePushStatus,
    SpaceRangeStatus,
)
from jrn_dagster_tests.e2e.conftest import Stack
from jrn_dagster_tests.support.dagster_dev import LOCATION_NAME
from jrn_dagster_tests.support.dagster_graphql import RunSummary, Tick, wait_for
from jrn_dagster_tests.support.github import WEBHOOK_PATH, commit, delivery_headers, encode
from jrn_dagster_tests.support.github import push_payload as github_push_payload

# Each step waits a bounded time (RUN_TIMEOUT_SECONDS, TICK_TIMEOUT_SECONDS); the overall limit
# only catches a hang, with room for a loaded machine (the fixture still stops the processes).
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

JOB = "cli_impact"
SENSOR = "webhook_event_sensor"
PARTITION_SET = f"{JOB}_partition_set"  # Dagster's name for a partitioned job's partition set
SPACES = [API_SPACE, GUIDES_SPACE]
RUN_TIMEOUT_SECONDS = 120
TICK_TIMEOUT_SECONDS = 60
# The sensor's minimum interval is 15 s: a tick that started this recently and has ended leaves
# the time to clear the cursor before the next one starts (a tick in flight would write the
# cursor it read back over the cleared one).
QUIET_AFTER_TICK_SECONDS = 12
ENDED = {"SUCCESS", "FAILURE", "CANCELED"}
PARTITION_TAG = "dagster/partition"
SENSOR_TAG = "dagster/sensor_name"
RUN_KEY_TAG = "dagster/run_key"
BACKFILL_TAG = "dagster/backfill"


def test_dagster_dev_end_to_end(stack: Stack) -> None:
    seconds: dict[str, float] = {}
    with step("a signed push, delivered twice, runs once per space", seconds):
        push = deliver_a_push_twice(stack)
        check_the_push_ran_once_per_space(stack, push)
    with step("a re-evaluated sensor tick launches nothing new", seconds):
        check_a_re_evaluated_tick_launches_nothing(stack, push)
    with step("a backfill of both spaces with no config catches them up", seconds):
        check_a_backfill_catches_both_spaces_up(stack)
    with step("failed runs re-executed from the failure succeed", seconds):
        check_failed_runs_recover_by_reexecution(stack)
    print(f"[{stack.backend}] " + "; ".join(f"{name}: {s:.1f} s" for name, s in seconds.items()))


@contextmanager
def step(name: str, seconds: dict[str, float]) -> Iterator[None]:
    """Time a step; a failure says which step it happened in."""
    started = time.monotonic()
    try:
        yield
    except BaseException as error:
        error.add_note(f"end-to-end step: {name}")
        raise
    seconds[name] = time.monotonic() - started


# --- helpers -------------------------------------------------------------------------------


def wait_for_runs(
    stack: Stack,
    run_tags: dict[str, str],
    count: int,
    *,
    status: str = "SUCCESS",
    run_ids: set[str] | None = None,
) -> list[RunSummary]:
    """The ``cli_impact`` runs with ``run_tags`` (and among ``run_ids``) once ``count`` of them
    ended in ``status``; fails at once when one ends otherwise, with what a failed one logged."""
    graphql = stack.dagster.graphql

    def ended() -> list[RunSummary] | None:
        runs = [
            run
            for run in graphql.runs(JOB, tags=run_tags)
            if run_ids is None or run.run_id in run_ids
        ]
        unexpected = {
            run.run_id: (run.status, graphql.failure_messages(run.run_id))
            for run in runs
            if run.status in ENDED and run.status != status
        }
        if unexpected:
            raise AssertionError(f"cli_impact runs ended otherwise than {status}: {unexpected}")
        if len(runs) >= count and all(run.status == status for run in runs):
            return runs
        return None

    return wait_for(
        ended, timeout_seconds=RUN_TIMEOUT_SECONDS, what=f"{count} {JOB} runs {run_tags} {status}"
    )


def deliver_push(stack: Stack, before: str, after: str, message: str) -> list[httpx.Response]:
    """POST the push of ``before..after`` twice, as GitHub and then its redelivery would."""
    added, modified, removed = stack.world.remote.changed_paths(before, after)
    entry = commit(after, message=message, added=added, modified=modified, removed=removed)
    body = encode(github_push_payload(before=before, after=after, commits=[entry]))
    headers = delivery_headers(body)
    answers = [stack.webhooks.post(WEBHOOK_PATH, content=body, headers=headers) for _ in range(2)]
    assert answers[0].status_code == 201, answers[0].text
    return answers


def source_cursor(stack: Stack) -> list[tuple[str, str, int | None]]:
    with stack.database.unit_of_work() as uow:
        source = uow.sources.get(stack.world.source_id)
    return [(c.branch, c.head_sha, c.event_id) for c in source.cursors]


def changesets_by_space(stack: Stack) -> dict[str, list[Changeset]]:
    with stack.database.unit_of_work() as uow:
        slugs = {uow.spaces.get_by_slug(slug).id: slug for slug in SPACES}
        found: dict[str, list[Changeset]] = {slug: [] for slug in SPACES}
        for changeset in uow.changesets.all():
            found[slugs[changeset.space_id]].append(changeset)
    return found


def binding_heads(stack: Stack) -> dict[str, str | None]:
    """Each space's binding cursor on the true source's main branch."""
    with stack.database.unit_of_work() as uow:
        heads = {}
        for slug in SPACES:
            covered = uow.coverage.binding_cursor(
                uow.spaces.get_by_slug(slug).id, stack.world.source_id, "main"
            )
            heads[slug] = covered.head_sha if covered else None
    return heads


def change_routes(stack: Stack, message: str) -> tuple[str, str]:
    """Commit a change to the API routes and the README and push it; (before, after)."""
    remote = stack.world.remote
    before = remote.head()
    assert before is not None
    count = int(remote.git("rev-list", "--count", "HEAD")) + 1
    routes = f'ROUTES = ["/widgets"] + [f"/widgets/{{n}}" for n in range({count})]\n'
    readme = f"# widgets\n\nMake widgets. {count} routes and counting.\n"
    after = remote.commit_and_push({"src/api/routes.py": routes, "README.md": readme}, message)
    return before, after


# --- step 1: a push --------------------------------------------------------------------------


@dataclass(frozen=True)
class Push:
    before: str
    after: str
    delivery_id: str
    answers: list[httpx.Response]
    event_id: int
    runs: list[RunSummary]


def deliver_a_push_twice(stack: Stack) -> Push:
    """Push a commit, deliver the push twice (same delivery id, as a GitHub redelivery), and
    wait for the runs the sensor launches."""
    message = "e2e: add a route"
    before, after = change_routes(stack, message)
    answers = deliver_push(stack, before, after, message)
    event_id = answers[0].json()["event_id"]
    # The receiver was up before Dagster: the push waited in the database meanwhile.
    stack.dagster.wait_until_loaded()
    runs = wait_for_runs(stack, {tags.EVENT_ID: str(event_id)}, count=len(SPACES))
    return Push(before, after, answers[0].json()["delivery_id"], answers, event_id, runs)


def check_the_push_ran_once_per_space(stack: Stack, push: Push) -> None:
    stored, duplicate = push.answers
    assert stored.status_code == 201
    assert stored.json()["status"] == "stored"
    assert duplicate.status_code == 200
    assert duplicate.json() == {**stored.json(), "status": "duplicate"}

    # Dagster: the sensor launched one run per affected space, the event in its tags.
    assert sorted(run.tags[PARTITION_TAG] for run in push.runs) == SPACES
    for run in push.runs:
        assert run.tags[tags.SPACE] == run.tags[PARTITION_TAG]
        assert run.tags[tags.MODE] == "event"
        assert run.tags[tags.HEAD_SHA] == push.after
        assert run.tags[tags.SOURCE_ID] == str(stack.world.source_id)
        assert run.tags[SENSOR_TAG] == SENSOR
    sensor_runs = stack.dagster.graphql.runs(JOB, tags={SENSOR_TAG: SENSOR})
    assert {run.run_id for run in sensor_runs} == {run.run_id for run in push.runs}

    # The application database: the event once, a record and a changeset per space, cursors.
    run_of_space = {run.tags[PARTITION_TAG]: run.run_id for run in push.runs}
    with stack.database.unit_of_work() as uow:
        events = uow.events.after(0, limit=1000)
        assert [(e.id, e.delivery_id) for e in events] == [(push.event_id, push.delivery_id)]
        assert uow.sources.get(stack.world.virtual_source_id).cursors == []
        for slug, run_id in run_of_space.items():
            [record] = uow.coverage.pushes_by_run(run_id)
            [processed] = uow.coverage.ranges_by_run(run_id)
            assert record.status is SpacePushStatus.SUCCEEDED
            assert record.space_id == uow.spaces.get_by_slug(slug).id
            assert record.event_id == push.event_id and record.range_id == processed.id
            assert processed.status is SpaceRangeStatus.SUCCEEDED
            assert (processed.base_sha, processed.head_sha) == (push.before, push.after)
            assert processed.changeset_id is not None
    assert binding_heads(stack) == {slug: push.after for slug in SPACES}
    assert source_cursor(stack) == [("main", push.after, push.event_id)]

    changesets = changesets_by_space(stack)
    assert {slug: len(found) for slug, found in changesets.items()} == {slug: 1 for slug in SPACES}
    expected_docs = {API_SPACE: ["reference/routes.md"], GUIDES_SPACE: ["getting-started.md"]}
    for slug, [changeset] in changesets.items():
        assert changeset.status is ChangesetStatus.OPEN
        assert changeset.dagster_run_id == run_of_space[slug]
        assert [doc.path for doc in changeset.docs] == expected_docs[slug]
        proposal = changeset.docs[0].proposed_content
        assert push.before[:12] in proposal
        assert push.after[:12] in proposal

    # Every run released its sandbox.
    assert list(stack.sandbox_dir.iterdir()) == []


# --- step 2a: a re-evaluated tick ------------------------------------------------------------


def quiet_tick(stack: Stack, selector: dict[str, str]) -> Tick | None:
    """The latest tick, once it is over (the tick written, then the sensor state with its
    cursor) and the next one is still some seconds away; else None."""
    graphql = stack.dagster.graphql
    ticks = graphql.sensor_ticks(selector, limit=1)
    if not ticks or ticks[0].end_timestamp is None or ticks[0].status == "STARTED":
        return None
    if time.time() - ticks[0].timestamp > QUIET_AFTER_TICK_SECONDS:
        return None
    state = graphql.sensor_state(selector)
    if state.last_tick_timestamp is None or state.last_tick_timestamp < ticks[0].timestamp - 0.01:
        return None  # the daemon has yet to write the cursor this tick read
    return ticks[0]


def check_a_re_evaluated_tick_launches_nothing(stack: Stack, push: Push) -> None:
    """Clearing the sensor cursor (the UI's "Clear cursor") makes the next tick read every
    stored event again and request the same runs: their run keys are taken, so nothing runs."""
    graphql = stack.dagster.graphql
    selector = stack.sensor_selector(SENSOR)
    runs_before = {run.run_id for run in graphql.runs(JOB, tags={SENSOR_TAG: SENSOR})}
    changesets_before = changesets_by_space(stack)
    run_keys = {run.tags[RUN_KEY_TAG] for run in push.runs}

    last = wait_for(
        lambda: quiet_tick(stack, selector),
        timeout_seconds=TICK_TIMEOUT_SECONDS,
        what="a sensor tick to end",
        poll=0.5,
    )
    assert last.cursor is not None
    assert EventCursor.parse(last.cursor).last_id == push.event_id
    cleared_at = time.time()
    graphql.set_sensor_cursor(selector, None)

    def next_tick() -> Tick | None:
        later = [
            tick
            for tick in graphql.sensor_ticks(selector, limit=5)
            if tick.timestamp > cleared_at and tick.end_timestamp is not None
        ]
        return later[-1] if later else None

    tick = wait_for(next_tick, timeout_seconds=TICK_TIMEOUT_SECONDS, what="a tick after the reset")
    assert tick.error is None, tick.error
    # It requested the runs again (their keys are in the tick) and Dagster launched none.
    assert run_keys <= set(tick.run_keys), (tick.run_keys, run_keys)
    assert tick.run_ids == []
    assert tick.cursor is not None
    assert EventCursor.parse(tick.cursor).last_id == push.event_id

    sensor_runs = graphql.runs(JOB, tags={SENSOR_TAG: SENSOR})
    assert {run.run_id for run in sensor_runs} == runs_before
    per_event_space = Counter(
        (run.tags[tags.EVENT_ID], run.tags[tags.SPACE]) for run in sensor_runs
    )
    assert set(per_event_space.values()) == {1}
    assert changesets_by_space(stack) == changesets_before


# --- step 2b: a backfill ---------------------------------------------------------------------


def check_a_backfill_catches_both_spaces_up(stack: Stack) -> None:
    """A commit reaches the branch without a webhook (a lost delivery); a backfill of both
    space partitions, launched as the UI does (no run config), catches both spaces up."""
    graphql = stack.dagster.graphql
    assert set(binding_heads(stack).values()) == {stack.world.remote.head()}
    changesets_before = changesets_by_space(stack)
    old_head, new_head = change_routes(stack, "e2e: a push GitHub never delivered")

    backfill_id = graphql.launch_partition_backfill(
        location_name=LOCATION_NAME,
        repository_name=stack.dagster.repository_name,
        partition_set_name=PARTITION_SET,
        partition_names=SPACES,
    )
    runs = wait_for_runs(stack, {BACKFILL_TAG: backfill_id}, count=len(SPACES))

    assert sorted(run.tags[PARTITION_TAG] for run in runs) == SPACES
    for run in runs:
        # The partitioned config's tags: the space, and nothing about an event; `clone` labels
        # the run once it knows it catches up.
        assert run.tags[tags.SPACE] == run.tags[PARTITION_TAG]
        assert run.tags[tags.MODE] == "catch_up"
        assert not {tags.EVENT_ID, tags.HEAD_SHA} & set(run.tags)
    # (The daemon marks the backfill completed on its next pass, up to 30 s later.)
    backfill = graphql.backfill(backfill_id)
    assert backfill.status in {"REQUESTED", "COMPLETED", "COMPLETED_SUCCESS"}, backfill
    assert backfill.partition_names == SPACES
    assert backfill.error is None

    assert binding_heads(stack) == {slug: new_head for slug in SPACES}
    run_of_space = {run.tags[PARTITION_TAG]: run.run_id for run in runs}
    changesets = changesets_by_space(stack)
    with stack.database.unit_of_work() as uow:
        for slug, run_id in run_of_space.items():
            assert uow.coverage.pushes_by_run(run_id) == []  # a catch-up claims no push
            [processed] = uow.coverage.ranges_by_run(run_id)
            assert processed.status is SpaceRangeStatus.SUCCEEDED
            assert (processed.base_sha, processed.head_sha) == (old_head, new_head)
            [new] = [
                c for c in changesets[slug] if c.id not in {b.id for b in changesets_before[slug]}
            ]
            assert processed.changeset_id == new.id
            assert new.dagster_run_id == run_id
            assert new.status is ChangesetStatus.OPEN
            proposal = new.docs[0].proposed_content
            assert new_head[:12] in proposal
            # The push's proposal for the same doc was still open: this one takes it over and
            # its notice spans both ranges (docs/decisions.md, "One open proposal per doc").
            assert [(c.status, c.superseded_by) for c in changesets_before[slug]] == [
                (ChangesetStatus.OPEN, None)
            ]
            [previous] = [c for c in changesets[slug] if c.id != new.id]
            assert (previous.status, previous.superseded_by) == (
                ChangesetStatus.SUPERSEDED,
                new.id,
            )
    # Both spaces' ranges link the old head to the new: the source cursor follows.
    [(branch, head, _)] = source_cursor(stack)
    assert (branch, head) == ("main", new_head)
    assert list(stack.sandbox_dir.iterdir()) == []


# --- step 3: a failure, and its recovery ---------------------------------------------------


def check_failed_runs_recover_by_reexecution(stack: Stack) -> None:
    """The repository is unreachable when a push's runs clone: they fail (not found: no
    retry) and hold the source cursor; re-executed from the failure (the UI's "Re-execute from
    failure") once it is back, they succeed, move the cursors and write one changeset each."""
    graphql = stack.dagster.graphql
    remote = stack.world.remote
    changesets_before = changesets_by_space(stack)
    cursor_before = source_cursor(stack)
    message = "e2e: pushed while the repository was unreachable"
    before, after = change_routes(stack, message)
    hidden = remote.bare.with_name(f"{remote.bare.name}.unreachable")
    remote.bare.rename(hidden)
    try:
        answers = deliver_push(stack, before, after, message)
        event_id = answers[0].json()["event_id"]
        event_tags = {tags.EVENT_ID: str(event_id)}
        failed = wait_for_runs(stack, event_tags, count=len(SPACES), status="FAILURE")
    finally:
        hidden.rename(remote.bare)
    for run in failed:
        messages = " ".join(graphql.failure_messages(run.run_id))
        assert "repository not found" in messages, messages
    # The source cursor waits for the event; the runs released their sandboxes.
    assert source_cursor(stack) == cursor_before
    assert list(stack.sandbox_dir.iterdir()) == []

    retried = {graphql.reexecute(run.run_id, strategy="FROM_FAILURE") for run in failed}
    runs = wait_for_runs(stack, event_tags, count=len(SPACES), run_ids=retried)

    parent_of = {run.run_id: run.tags["dagster/parent_run_id"] for run in runs}
    assert set(parent_of.values()) == {run.run_id for run in failed}
    assert sorted(run.tags[PARTITION_TAG] for run in runs) == SPACES
    assert source_cursor(stack) == [("main", after, event_id)]
    assert binding_heads(stack) == {slug: after for slug in SPACES}
    changesets = changesets_by_space(stack)
    with stack.database.unit_of_work() as uow:
        for run in runs:
            [record] = uow.coverage.pushes_by_run(run.run_id)
            [processed] = uow.coverage.ranges_by_run(run.run_id)
            assert record.status is SpacePushStatus.SUCCEEDED and record.event_id == event_id
            assert processed.status is SpaceRangeStatus.SUCCEEDED
            assert (processed.base_sha, processed.head_sha) == (before, after)
            slug = run.tags[PARTITION_TAG]
            [new] = [
                c for c in changesets[slug] if c.id not in {b.id for b in changesets_before[slug]}
            ]
            assert (new.id, new.dagster_run_id) == (processed.changeset_id, run.run_id)
    assert list(stack.sandbox_dir.iterdir()) == []
