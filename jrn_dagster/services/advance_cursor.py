"""``advance_cursor``: record what the run's space processed, then move the cursors.

One transaction per source branch, serialised per source (a row lock on PostgreSQL, the write
lock taken at BEGIN on SQLite), every cursor write a compare-and-swap. The rules and their
worked examples are in docs/cursors.md.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jrn_dagster.db.unit_of_work import Database, UnitOfWork
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.coverage import (
    ZERO_SHA,
    CoveredRange,
    Extension,
    PushLink,
    absorbed_islands,
    chain_root,
    next_binding_cursor,
    next_source_cursor,
    pushes_in_range,
)
from jrn_dagster.domain.event_cursor import MAX_HOLES, pending_holes
from jrn_dagster.domain.jrn import event_jrn, jrn_matches
from jrn_dagster.domain.records import SpacePushStatus, SpaceRangeStatus
from jrn_dagster.domain.steps import Checkouts, SourceCheckout

logger = logging.getLogger(__name__)

# Pushes looked at when marking what a range covered, or finding where a branch's history starts.
MAX_PUSHES_CONSIDERED = 1000


@dataclass
class CursorMove:
    source_name: str
    branch: str
    space_status: str
    binding_before: str | None = None
    binding_after: str | None = None
    binding_note: str | None = None
    source_before: str | None = None
    source_after: str | None = None
    source_note: str | None = None
    covered_events: list[int] = field(default_factory=list)


@dataclass
class CursorReport:
    moves: list[CursorMove] = field(default_factory=list)


def advance_cursors(
    database: Database,
    checkouts: Checkouts,
    *,
    dagster_run_id: str,
    now: datetime | None = None,
) -> CursorReport:
    """``dagster_run_id``: the run finishing the work (a re-execution of the run that claimed
    it is recorded as the run that did it)."""
    report = CursorReport()
    for checkout in checkouts.true_sources:
        if checkout.range_id is None and not checkout.push_ids:
            continue  # nothing claimed, nothing processed: every push was done before
        with database.unit_of_work(serializable_write=True) as uow:
            uow.coverage.lock_source(checkout.plan.source_id)
            move = _finish_space(uow, checkouts, checkout, dagster_run_id)
            _move_source_cursor(uow, checkout, move, now or datetime.now(UTC))
            uow.commit()
        report.moves.append(move)
    return report


def _finish_space(
    uow: UnitOfWork, checkouts: Checkouts, checkout: SourceCheckout, dagster_run_id: str
) -> CursorMove:
    plan, work = checkouts.plan, checkout.plan
    processed = checkout.range_id is not None
    status = SpacePushStatus.SUCCEEDED if processed else SpacePushStatus.SKIPPED
    move = CursorMove(work.source_name, checkout.branch, status.value)
    uow.coverage.finish_pushes(
        checkout.push_ids, status=status, range_id=checkout.range_id, dagster_run_id=dagster_run_id
    )
    current = uow.coverage.binding_cursor(plan.space_id, work.source_id, checkout.branch)
    move.binding_before = move.binding_after = current.head_sha if current else None
    if checkout.range_id is None:
        return move
    done = uow.coverage.update_range(
        checkout.range_id, status=SpaceRangeStatus.SUCCEEDED, dagster_run_id=dagster_run_id
    )
    pushes = uow.events.pushes(
        RepoCoordinate.parse(work.repo).key,
        checkout.branch,
        newest_first=True,
        limit=MAX_PUSHES_CONSIDERED,
    )
    move.covered_events = pushes_in_range(
        [PushLink(p.event_id, p.before_sha, p.after_sha, p.forced) for p in pushes],
        head_sha=done.head_sha,
        link_from_sha=done.link_from_sha,
        own_event_ids=work.event_ids,
    )
    uow.coverage.cover_pushes(
        [e for e in move.covered_events if e not in work.event_ids],
        source_id=work.source_id,
        space_id=plan.space_id,
        range_id=done.id,
        dagster_run_id=dagster_run_id,
    )
    if current != work.covered:
        # Another run of this space moved it since this run decided its range: the facts git
        # gave are about the old cursor. The range stays recorded (a link the source cursor can
        # use); the binding cursor is left to the newer run.
        move.binding_note = "moved by another run since this run started"
        return move
    target = next_binding_cursor(current, checkout.range, done.event_id)
    if target is None:
        move.binding_note = "this range does not touch the space's coverage: kept as a link"
        return move
    if not _binding_exists(uow, plan.space_id, work.source_id):
        move.binding_after, move.binding_note = None, "binding removed during the run"
        return move
    rewritten = checkout.range.extension is Extension.RESTART
    _move_binding(uow, checkout, plan.space_id, to=target, expected=current, forced=rewritten)
    _place_in_chain(uow, checkout, plan.space_id, done.id)
    if checkout.range.extension in (Extension.NEW, Extension.DOWN):
        target = _absorb_islands(uow, checkout, plan.space_id, target, forced=rewritten)
    move.binding_after = target.head_sha
    move.binding_note = "history rewritten: coverage restarts here" if rewritten else None
    return move


def _move_binding(
    uow: UnitOfWork,
    checkout: SourceCheckout,
    space_id: int,
    *,
    to: CoveredRange,
    expected: CoveredRange | None,
    forced: bool,
) -> None:
    moved = uow.coverage.move_binding_cursor(
        space_id,
        checkout.plan.source_id,
        checkout.branch,
        to=to,
        expected=expected,
        forced=forced,
    )
    if not moved:  # pragma: no cover - serialised by the source lock
        raise RuntimeError("binding cursor changed under the source lock")


def _place_in_chain(
    uow: UnitOfWork, checkout: SourceCheckout, space_id: int, range_id: int
) -> None:
    """The range becomes the next step of the space's chain (the first, for a range that
    extends the coverage downwards)."""
    ends = uow.coverage.chain_ends(space_id, checkout.plan.source_id, checkout.branch)
    if ends is None:
        seq = 0
    elif checkout.range.extension is Extension.DOWN:
        seq = ends[0] - 1
    else:
        seq = ends[1] + 1
    uow.coverage.place_in_chain(range_id, seq)


def _absorb_islands(
    uow: UnitOfWork, checkout: SourceCheckout, space_id: int, current: CoveredRange, *, forced: bool
) -> CoveredRange:
    """Ranges processed earlier below a gap that the coverage now reaches (a push retried late,
    below one processed first) join the chain at its start."""
    source_id, branch = checkout.plan.source_id, checkout.branch
    islands = uow.coverage.islands(space_id, source_id, branch)
    absorbed = absorbed_islands(current.covered_from_sha, islands)
    if not absorbed:
        return current
    ends = uow.coverage.chain_ends(space_id, source_id, branch)
    low = ends[0] if ends else 0
    bases = {range_id: base for range_id, base, _ in islands}
    for offset, range_id in enumerate(absorbed, start=1):
        uow.coverage.place_in_chain(range_id, low - offset)
    grown = current.model_copy(update={"covered_from_sha": bases[absorbed[-1]]})
    _move_binding(uow, checkout, space_id, to=grown, expected=current, forced=forced)
    return grown


def _binding_exists(uow: UnitOfWork, space_id: int, source_id: int) -> bool:
    return any(b.source_id == source_id for b in uow.spaces.bindings_of_space(space_id))


def _required_spaces(uow: UnitOfWork, checkout: SourceCheckout) -> list[int]:
    """Every space that must process the branch: enabled bindings to spaces not archived,
    whose JRN pattern (if any) matches the branch."""
    coordinate = checkout.plan.coordinate
    jrn = event_jrn(coordinate.host, coordinate.owner, coordinate.repo, checkout.branch)
    return [
        space_id
        for space_id, pattern in uow.spaces.active_bindings_of_source(checkout.plan.source_id)
        if pattern is None or jrn_matches(pattern, jrn)
    ]


def _start(uow: UnitOfWork, checkout: SourceCheckout, now: datetime) -> tuple[str | None, str]:
    """Where the source cursor stands, or, before it ever moved, where the branch's known
    history starts: the base of its first push stored since the source exists. While a transaction
    may still be inserting an earlier push (an id hole), that start is not known yet."""
    work = checkout.plan
    cursor = uow.coverage.source_cursor(work.source_id, checkout.branch)
    if cursor is not None:
        return cursor.head_sha, ""
    pushes = uow.events.pushes(
        RepoCoordinate.parse(work.repo).key,
        checkout.branch,
        since=uow.sources.get(work.source_id).created_at,
        limit=MAX_PUSHES_CONSIDERED,
    )
    root = chain_root(PushLink(p.event_id, p.before_sha, p.after_sha) for p in pushes)
    if root is None:
        return None, "held: no push of this branch is stored"
    window_start = max(0, root.event_id - MAX_HOLES)
    holes = pending_holes(
        uow.events.received(after_id=window_start, up_to_id=root.event_id),
        after_id=window_start,
        up_to_id=root.event_id,
        now=now,
    )
    if holes:
        return None, f"held: event id(s) {holes} may still be a push being stored"
    return root.before_sha or ZERO_SHA, ""


def _move_source_cursor(
    uow: UnitOfWork, checkout: SourceCheckout, move: CursorMove, now: datetime
) -> None:
    work, branch = checkout.plan, checkout.branch
    cursor = uow.coverage.source_cursor(work.source_id, branch)
    move.source_before = move.source_after = cursor.head_sha if cursor else None
    start, held = _start(uow, checkout, now)
    if start is None:
        move.source_note = held
        return
    spaces = _required_spaces(uow, checkout)
    chains = uow.coverage.chains(work.source_id, branch, spaces)
    positions = uow.coverage.source_positions(work.source_id, branch) if cursor else {}
    target = next_source_cursor(start, chains, {space: positions.get(space) for space in spaces})
    if target is None:
        move.source_note = (
            "held: some space has not processed as far as the others yet"
            if spaces
            else "held: no enabled binding needs this branch"
        )
        return
    if not uow.coverage.move_source_cursor(
        work.source_id,
        branch,
        head_sha=target.sha,
        event_id=target.event_id,
        forced=target.forced,
        expected=cursor,
    ):  # pragma: no cover - serialised by the source lock
        raise RuntimeError("source cursor changed under the source lock")
    uow.coverage.set_source_positions(work.source_id, branch, target.positions)
    move.source_after = target.sha
    move.source_note = "moved across a rewritten history" if target.forced else None
