"""Coverage under random histories, on a real repository and both databases (hypothesis,
stateful): fast-forwards, forced rewinds and diverged forced pushes, delivered in random order;
runs started and finished in random order, sometimes failing and retried.

The check is independent of how cursors are computed: every commit adds a file of its own, so
the changes between where coverage started and a commit are the files of ``git diff start
commit``; a space has processed them when each of those files is in the diff of one of its
succeeded ranges. After every step no cursor may stand on a commit whose changes some space has
not processed, it must stand where a push left the branch, and the source cursor never goes back
in time. At the end, with every push delivered and every run retried until it succeeds, every
binding covers the branch's final head and the source cursor stands on it. (A push that a later
forced push replaced needs no processing: its changes are not between the start and any later
head.)
"""

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from jrn_dagster.db.unit_of_work import Database
from jrn_dagster.demo.local_git import clone_url_template
from jrn_dagster.demo.scenario import API_SPACE, GUIDES_SPACE, DemoWorld, ensure_world, ingest_push
from jrn_dagster.domain.records import SpacePushStatus, SpaceRangeStatus
from jrn_dagster.domain.steps import Checkouts
from jrn_dagster.resources.repositories import RepositoryAccessResource
from jrn_dagster.resources.sandbox import LocalSandboxResource
from jrn_dagster.services.advance_cursor import advance_cursors
from jrn_dagster.services.clone import check_out_sources, plan_run
from jrn_dagster.services.matching import safe_match
from jrn_dagster.services.run_failures import record_run_failure
from jrn_dagster_tests.support.databases import empty_all_tables

SPACES = (API_SPACE, GUIDES_SPACE)


@dataclass(frozen=True)
class PushFact:
    before: str
    after: str
    forced: bool
    files: frozenset[str]


@dataclass
class InFlight:
    run_id: str
    event_id: int
    checkouts: Checkouts


@dataclass
class World:
    database: Database
    root: Path


@dataclass
class History:
    pushes: list[PushFact] = field(default_factory=list)  # in push order
    pending: list[int] = field(default_factory=list)  # pushes not delivered yet
    event_of: dict[int, int] = field(default_factory=dict)  # push index -> event id
    runs: int = 0


class CoverageMachine(RuleBasedStateMachine):
    world: World  # set by the test before each run

    def __init__(self) -> None:
        super().__init__()
        database = self.world.database
        empty_all_tables(database)
        self.root = Path(tempfile.mkdtemp(dir=self.world.root))
        self.demo: DemoWorld = ensure_world(database, self.root / "git")
        self.access = RepositoryAccessResource(
            clone_url_template=clone_url_template(self.root / "git")
        )
        self.sandboxes = LocalSandboxResource(base_dir=str(self.root / "sandboxes"))
        self.history = History()
        self.in_flight: dict[str, InFlight] = {}
        self.diffs: dict[tuple[str | None, str], frozenset[str]] = {}
        self.position = -1
        # Coverage starts with one push every space processed.
        self.fast_forward()
        self.deliver(0)
        for space in SPACES:
            self._run_to_end(space, self.history.event_of[0], succeed=True)

    # --- git --------------------------------------------------------------------------------

    def _git(self, *args: str) -> str:
        return self.demo.remote.git(*args, cwd=self.demo.remote.bare)

    def _files(self, base: str | None, head: str) -> frozenset[str]:
        key = (base, head)
        if key not in self.diffs:
            listing = (
                self._git("diff", "--name-only", "--no-renames", base, head)
                if base
                else self._git("ls-tree", "-r", "--name-only", head)
            )
            self.diffs[key] = frozenset(listing.split())
        return self.diffs[key]

    def _history(self) -> list[str]:
        return self._git("rev-list", "--first-parent", "main").split()

    def _push(self, before: str, after: str, *, forced: bool) -> None:
        self.history.pushes.append(PushFact(before, after, forced, self._files(before, after)))
        self.history.pending.append(len(self.history.pushes) - 1)

    @rule()
    def fast_forward(self) -> None:
        n = len(self.history.pushes)
        before = self.demo.remote.head() or ""
        self.demo.remote.git("checkout", "--quiet", "--detach", before)
        after = self.demo.remote.commit_and_push({f"changes/{n}.txt": f"{n}\n"}, f"change {n}")
        self._push(before, after, forced=False)

    @rule(data=st.data())
    def rewind(self, data: st.DataObject) -> None:
        history = self._history()
        if len(history) < 2:
            return
        before, target = history[0], data.draw(st.sampled_from(history[1:]), label="rewind to")
        self.demo.remote.force_push(target)
        self._push(before, target, forced=True)

    @rule(data=st.data())
    def diverge(self, data: st.DataObject) -> None:
        history = self._history()
        if len(history) >= 2:
            self.diverge_from(data.draw(st.sampled_from(history[1:]), label="diverge from"))

    def diverge_from(self, parent: str) -> None:
        before = self.demo.remote.head() or ""
        n = len(self.history.pushes)
        after = self.demo.remote.commit_on(parent, {f"changes/{n}.txt": f"{n}\n"}, f"diverge {n}")
        self.demo.remote.force_push(after)
        self._push(before, after, forced=True)

    # --- the platform -------------------------------------------------------------------------

    @rule(data=st.data())
    def deliver_one(self, data: st.DataObject) -> None:
        if self.history.pending:
            self.deliver(data.draw(st.sampled_from(self.history.pending), label="deliver"))

    def deliver(self, index: int) -> None:
        push = self.history.pushes[index]
        event = ingest_push(
            self.world.database,
            self.demo,
            before=push.before,
            after=push.after,
            forced=push.forced,
        )
        self.history.pending.remove(index)
        self.history.event_of[index] = event.id

    def _undone(self, space: str) -> list[int]:
        """Delivered pushes this space has not done (its records), oldest event first."""
        database = self.world.database
        with database.unit_of_work() as uow:
            space_id = uow.spaces.get_by_slug(space).id
            done = {
                r.event_id
                for e in self.history.event_of.values()
                for r in uow.coverage.pushes_of_event(e)
                if r.space_id == space_id and r.status.done
            }
        return sorted(e for e in self.history.event_of.values() if e not in done)

    def _start(self, space: str, event_id: int) -> None:
        database = self.world.database
        self.history.runs += 1
        run_id = f"run-{self.history.runs}"
        with database.unit_of_work() as uow:
            match = safe_match(uow, uow.events.get(event_id))
        [params] = [p for p in match.params if p.source_id == self.demo.source_id]
        plan = plan_run(database, space_slug=space, params=params, event_ids=[event_id])
        checkouts = check_out_sources(
            database, self.sandboxes.provider, self.access.build(), plan=plan, run_id=run_id
        )
        self.in_flight[space] = InFlight(run_id, event_id, checkouts)

    def _finish(self, space: str, *, succeed: bool) -> None:
        run = self.in_flight.pop(space)
        database = self.world.database
        if succeed:
            advance_cursors(database, run.checkouts, dagster_run_id=run.run_id)
        else:
            record_run_failure(
                database,
                dagster_run_id=run.run_id,
                params=None,
                event_ids=[run.event_id],
                space_slug=space,
                error="injected failure",
            )
        self.sandboxes.release_for_key(run.run_id)

    def _run_to_end(self, space: str, event_id: int, *, succeed: bool) -> None:
        self._start(space, event_id)
        self._finish(space, succeed=succeed)

    @rule(data=st.data())
    def start_run(self, data: st.DataObject) -> None:
        idle = [space for space in SPACES if space not in self.in_flight]
        if not idle:
            return
        space = data.draw(st.sampled_from(idle), label="space")
        undone = self._undone(space)
        if undone:
            self._start(space, data.draw(st.sampled_from(undone), label="event"))

    @rule(data=st.data(), succeed=st.booleans())
    def finish_run(self, data: st.DataObject, succeed: bool) -> None:
        if self.in_flight:
            space = data.draw(st.sampled_from(sorted(self.in_flight)), label="finish")
            self._finish(space, succeed=succeed)

    # --- what must hold -----------------------------------------------------------------------

    def _index_of_event(self, event_id: int) -> int:
        return next(i for i, e in self.history.event_of.items() if e == event_id)

    def _processed(self, space: str) -> frozenset[str]:
        """Every file a succeeded range of ``space`` diffed."""
        with self.world.database.unit_of_work() as uow:
            space_id = uow.spaces.get_by_slug(space).id
            ranges = [
                r
                for run_id in (f"run-{n}" for n in range(1, self.history.runs + 1))
                for r in uow.coverage.ranges_by_run(run_id)
                if r.space_id == space_id and r.status is SpaceRangeStatus.SUCCEEDED
            ]
        return frozenset().union(*(self._files(r.base_sha, r.head_sha) for r in ranges))

    def _assert_processed_up_to(self, space: str, commit: str, what: str) -> None:
        start = self.history.pushes[0].after
        missing = self._files(start, commit) - self._processed(space)
        assert not missing, f"{space}: {sorted(missing)} not processed, {what} at {commit[:12]}"

    @invariant()
    def no_cursor_claims_more_than_was_processed(self) -> None:
        with self.world.database.unit_of_work() as uow:
            cursor = uow.coverage.source_cursor(self.demo.source_id, "main")
            bindings = {
                space: uow.coverage.binding_cursor(
                    uow.spaces.get_by_slug(space).id, self.demo.source_id, "main"
                )
                for space in SPACES
            }
        assert cursor is not None and cursor.event_id is not None
        position = self._index_of_event(cursor.event_id)
        assert self.history.pushes[position].after == cursor.head_sha
        assert position >= self.position, "the source cursor went back in the branch history"
        self.position = position
        for space in SPACES:
            self._assert_processed_up_to(space, cursor.head_sha, "source cursor")
            binding = bindings[space]
            assert binding is not None
            self._assert_processed_up_to(space, binding.head_sha, "binding cursor")

    def teardown(self) -> None:
        """Deliver everything, retry every run until it succeeds: all cursors reach the head."""
        try:
            for space in sorted(self.in_flight):
                self._finish(space, succeed=True)
            for index in list(self.history.pending):
                self.deliver(index)
            for _ in range(len(self.history.pushes) + 1):
                for space in SPACES:
                    for event_id in self._undone(space):
                        self._run_to_end(space, event_id, succeed=True)
            head = self.demo.remote.head()
            with self.world.database.unit_of_work() as uow:
                cursor = uow.coverage.source_cursor(self.demo.source_id, "main")
                for space in SPACES:
                    space_id = uow.spaces.get_by_slug(space).id
                    binding = uow.coverage.binding_cursor(space_id, self.demo.source_id, "main")
                    assert binding is not None and binding.head_sha == head, space
                    statuses = {
                        r.status
                        for e in self.history.event_of.values()
                        for r in uow.coverage.pushes_of_event(e)
                        if r.space_id == space_id
                    }
                    assert SpacePushStatus.FAILED not in statuses
            assert cursor is not None and cursor.head_sha == head
            self.no_cursor_claims_more_than_was_processed()
        finally:
            for run in self.in_flight.values():
                self.sandboxes.release_for_key(run.run_id)


def test_coverage_holds_under_random_histories(database: Database, tmp_path: Path) -> None:
    CoverageMachine.world = World(database, tmp_path)
    run_state_machine_as_test(
        CoverageMachine,
        settings=settings(
            max_examples=int(os.environ.get("JRN_PROPERTY_EXAMPLES", "3")),
            stateful_step_count=10,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
