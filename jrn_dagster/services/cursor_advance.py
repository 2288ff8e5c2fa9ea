"""``advance_cursor``: mark the space done, move its binding cursor, then the source cursor.

One transaction per source branch, serialised per source (a row lock on PostgreSQL, the
write lock taken at BEGIN on SQLite), and every write a compare-and-swap.
"""

import logging
from dataclasses import dataclass, field

from jrn_dagster.db.unit_of_work import Database, UnitOfWork
from jrn_dagster.domain.cursors import next_binding_cursor, next_source_cursor
from jrn_dagster.domain.records import SpaceRunStatus
from jrn_dagster.domain.run_plan import RunMode
from jrn_dagster.domain.workspace import SourceCheckout, Workspace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LaunchedRun:
    """A run of the same source that Dagster knows and that has not succeeded (yet)."""

    run_id: str
    event_id: int
    space_slug: str


@dataclass
class CursorMove:
    source_name: str
    branch: str
    space_status: SpaceRunStatus
    binding_before: str | None = None
    binding_after: str | None = None
    binding_note: str | None = None
    source_before: str | None = None
    source_after: str | None = None
    source_note: str | None = None


@dataclass
class CursorReport:
    moves: list[CursorMove] = field(default_factory=list)


def advance_cursors(
    database: Database,
    workspace: Workspace,
    launched: list[LaunchedRun],
    *,
    dagster_run_id: str | None = None,
) -> CursorReport:
    """``dagster_run_id``: the run finishing the work (a re-execution of the run that claimed
    it is recorded as the run that did it)."""
    report = CursorReport()
    for checkout in workspace.true_checkouts:
        if checkout.space_run_id is None:
            continue
        with database.unit_of_work(serializable_write=True) as uow:
            uow.cursors.lock_source(checkout.work.source_id)
            move = _finish_space(uow, workspace, checkout, dagster_run_id)
            if workspace.plan.mode is RunMode.EVENT and checkout.work.event_id is not None:
                _move_source_cursor(uow, checkout, launched, move)
            uow.commit()
        report.moves.append(move)
    return report


def _finish_space(
    uow: UnitOfWork, workspace: Workspace, checkout: SourceCheckout, dagster_run_id: str | None
) -> CursorMove:
    status = SpaceRunStatus.SKIPPED if checkout.range.stale else SpaceRunStatus.SUCCEEDED
    assert checkout.space_run_id is not None  # noqa: S101 - true sources are claimed
    uow.runs.record_outcome(
        checkout.space_run_id,
        status=status,
        base_sha_used=checkout.range.base_sha,
        base_origin=checkout.range.origin.value,
        dagster_run_id=dagster_run_id,
    )
    plan, work = workspace.plan, checkout.work
    move = CursorMove(work.source_name, checkout.branch, status)
    current = uow.cursors.binding_cursor(plan.space_id, work.source_id, checkout.branch)
    move.binding_before = current.head_sha if current else None
    if current != work.covered:
        # Another run of this space moved it since this run planned its range: the facts git
        # gave us are about the old cursor, so leave the newer one alone (never backwards).
        move.binding_after, move.binding_note = move.binding_before, "moved by another run"
        return move
    target, rewritten = next_binding_cursor(current, checkout.range.decision().processed())
    if target != current and not _binding_exists(uow, plan.space_id, work.source_id):
        move.binding_after, move.binding_note = None, "binding removed during the run"
        return move
    if target != current:
        moved = uow.cursors.move_binding_cursor(
            plan.space_id,
            work.source_id,
            checkout.branch,
            to=target,
            expected=current,
            event_id=work.event_id,
            forced=rewritten,
        )
        if not moved:  # pragma: no cover - serialised by the source lock
            raise RuntimeError("binding cursor changed under the source lock")
    move.binding_after = target.head_sha
    move.binding_note = "history rewritten: coverage restarts here" if rewritten else None
    return move


def _binding_exists(uow: UnitOfWork, space_id: int, source_id: int) -> bool:
    return any(b.source_id == source_id for b in uow.spaces.bindings_of_space(space_id))


def _move_source_cursor(
    uow: UnitOfWork, checkout: SourceCheckout, launched: list[LaunchedRun], move: CursorMove
) -> None:
    source_id, branch = checkout.work.source_id, checkout.branch
    cursor = uow.cursors.source_cursor(source_id, branch)
    current_event = cursor.event_id if cursor else None
    move.source_before = move.source_after = cursor.head_sha if cursor else None
    progress = uow.runs.progress_after(source_id, branch, current_event)
    done = uow.runs.done_event_spaces(source_id, after_event_id=current_event)
    slugs = uow.spaces.ids_by_slug([run.space_slug for run in launched])
    # A launched run that has not recorded its (event, space) as done holds the cursor back,
    # even before it records anything (queued) or if it failed before it could.
    barrier = [
        run.event_id
        for run in launched
        if (current_event is None or run.event_id > current_event)
        and (run.event_id, slugs.get(run.space_slug)) not in done
    ]
    target = next_source_cursor(current_event, progress, barrier)
    if target is None:
        waiting = [p.event_id for p in progress if not p.done]
        move.source_note = (
            f"held: waiting for event(s) {sorted(set(waiting + barrier))}"
            if waiting or barrier
            else None
        )
        return
    forced = uow.runs.event_forced(source_id, target.event_id)
    if uow.cursors.move_source_cursor(
        source_id,
        branch,
        head_sha=target.head_sha,
        event_id=target.event_id,
        forced=forced,
        expected_event_id=current_event,
    ):
        move.source_after = target.head_sha
        move.source_note = "moved after a forced push" if forced else None
    else:  # pragma: no cover - serialised by the source lock
        raise RuntimeError("source cursor changed under the source lock")
