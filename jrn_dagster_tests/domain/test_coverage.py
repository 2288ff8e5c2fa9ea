"""The coverage rules of docs/cursors.md, as pure functions: range decisions, binding cursor
moves, the source cursor's walk along processed ranges, and what a range covers."""

from datetime import UTC, datetime, timedelta

import pytest

from jrn_dagster.domain.coverage import (
    Ancestry,
    ChainStep,
    Comparison,
    CoveredRange,
    Extension,
    PushLink,
    Relation,
    absorbed_islands,
    chain_root,
    decide_range,
    locate,
    next_binding_cursor,
    next_source_cursor,
    pushes_in_range,
)
from jrn_dagster.domain.event_cursor import pending_holes

A, B, C, D, E, OLD = "a" * 40, "b" * 40, "c" * 40, "d" * 40, "e" * 40, "f" * 40


def facts(**overrides: object) -> Ancestry:
    values: dict[str, object] = {
        "event_base_reachable": True,
        "event_base_present": True,
        "covered_head_in_head": False,
        "head_in_covered_head": False,
        "covered_head_present": True,
        "covered_from_in_event_base": False,
        "event_base_in_covered_from": False,
        "covered_from_in_head": False,
    }
    values.update(overrides)
    return Ancestry(**values)  # type: ignore[arg-type]


def test_a_space_with_no_coverage_starts_at_the_event_base() -> None:
    decision = decide_range(head_sha=C, event_base_sha=B, rewind=False, covered=None, facts=facts())
    assert (decision.base_sha, decision.link_from_sha, decision.comparison) == (
        B,
        B,
        Comparison.EVENT_BASE,
    )
    assert decision.extension is Extension.NEW
    off_history = decide_range(
        head_sha=C,
        event_base_sha=OLD,
        rewind=True,
        covered=None,
        facts=facts(event_base_reachable=False),
    )
    assert (off_history.base_sha, off_history.comparison) == (OLD, Comparison.OLD_HEAD)
    nothing = decide_range(
        head_sha=C,
        event_base_sha=None,
        rewind=False,
        covered=None,
        facts=facts(event_base_reachable=False, event_base_present=False),
    )
    assert (nothing.base_sha, nothing.link_from_sha) == (None, None)
    assert nothing.comparison is Comparison.WHOLE_TREE


def test_a_newer_head_continues_from_the_covered_head() -> None:
    covered = CoveredRange(head_sha=B, covered_from_sha=A, event_id=3)
    decision = decide_range(
        head_sha=D,
        event_base_sha=C,
        rewind=False,
        covered=covered,
        facts=facts(covered_head_in_head=True),
    )
    assert (decision.base_sha, decision.link_from_sha) == (B, B)
    assert (decision.comparison, decision.relation) == (
        Comparison.BINDING_CURSOR,
        Relation.DESCENDANT,
    )
    moved = next_binding_cursor(covered, decision, 5)
    assert moved == CoveredRange(head_sha=D, covered_from_sha=A, event_id=5)


def test_the_covered_head_itself_is_skipped() -> None:
    covered = CoveredRange(head_sha=B, covered_from_sha=A)
    decision = decide_range(
        head_sha=B, event_base_sha=A, rewind=False, covered=covered, facts=facts()
    )
    assert decision.skipped and decision.relation is Relation.SAME
    assert next_binding_cursor(covered, decision, 2) is None


def test_a_rewind_is_compared_with_the_old_head_then_the_merge_point_then_the_tree() -> None:
    covered = CoveredRange(head_sha=C, covered_from_sha=A)
    older = facts(head_in_covered_head=True)
    rewind = decide_range(head_sha=B, event_base_sha=C, rewind=True, covered=covered, facts=older)
    assert (rewind.base_sha, rewind.link_from_sha, rewind.comparison) == (C, C, Comparison.OLD_HEAD)
    assert rewind.extension is Extension.RESTART
    gone = facts(head_in_covered_head=True, covered_head_present=False, merge_point=A)
    merged = decide_range(head_sha=B, event_base_sha=C, rewind=True, covered=covered, facts=gone)
    assert (merged.base_sha, merged.link_from_sha) == (A, C)
    assert merged.comparison is Comparison.MERGE_BASE
    nothing = facts(head_in_covered_head=True, covered_head_present=False)
    whole = decide_range(head_sha=B, event_base_sha=C, rewind=True, covered=covered, facts=nothing)
    assert (whole.base_sha, whole.comparison) == (None, Comparison.WHOLE_TREE)
    assert next_binding_cursor(covered, rewind, 9) == CoveredRange(
        head_sha=B, covered_from_sha=C, event_id=9
    )


def test_an_older_push_is_skipped_inside_the_coverage_and_extends_it_when_it_touches() -> None:
    covered = CoveredRange(head_sha=D, covered_from_sha=B)
    inside = facts(head_in_covered_head=True, covered_from_in_event_base=True)
    assert decide_range(
        head_sha=C, event_base_sha=B, rewind=False, covered=covered, facts=inside
    ).skipped
    touching = facts(
        head_in_covered_head=True, event_base_in_covered_from=True, covered_from_in_head=True
    )
    below = decide_range(
        head_sha=B, event_base_sha=A, rewind=False, covered=covered, facts=touching
    )
    assert (below.base_sha, below.extension) == (A, Extension.DOWN)
    assert next_binding_cursor(covered, below, 1) == CoveredRange(
        head_sha=D, covered_from_sha=A, event_id=1
    )
    # Below the coverage with a gap (an unprocessed push between): processed, cursor untouched.
    gap = facts(head_in_covered_head=True, event_base_in_covered_from=True)
    island = decide_range(head_sha=A, event_base_sha=OLD, rewind=False, covered=covered, facts=gap)
    assert island.extension is Extension.NONE and not island.skipped
    assert next_binding_cursor(covered, island, 1) is None


def test_a_diverged_head_that_left_the_branch_is_superseded() -> None:
    covered = CoveredRange(head_sha=C, covered_from_sha=A)
    dead = decide_range(
        head_sha=E,
        event_base_sha=D,
        rewind=False,
        covered=covered,
        facts=facts(head_on_branch=False),
    )
    assert dead.skipped and "no longer on the branch" in (dead.skip_reason or "")
    alive = decide_range(head_sha=E, event_base_sha=D, rewind=False, covered=covered, facts=facts())
    assert (alive.base_sha, alive.comparison, alive.relation) == (
        C,
        Comparison.OLD_HEAD,
        Relation.DIVERGED,
    )


def chain(*steps: tuple[str | None, str, int], rewrites: tuple[int, ...] = ()) -> list[ChainStep]:
    return [
        ChainStep(seq, start, end, event_id, seq in rewrites)
        for seq, (start, end, event_id) in enumerate(steps)
    ]


def test_the_source_cursor_moves_to_the_furthest_commit_every_chain_passes() -> None:
    one_by_one = chain((A, B, 2), (B, C, 3))
    both_at_once = chain((A, C, 3))
    move = next_source_cursor(A, {1: one_by_one, 2: both_at_once}, {})
    assert move is not None and (move.sha, move.event_id, move.forced) == (C, 3, False)
    assert move.positions == {1: 1, 2: 0}
    lagging = next_source_cursor(A, {1: one_by_one, 2: chain((A, B, 2))}, {})
    assert lagging is not None and lagging.sha == B
    assert next_source_cursor(A, {1: one_by_one, 2: []}, {}) is None
    # Space 1 never processed A..B: its chain does not start where the cursor is.
    assert next_source_cursor(A, {1: chain((B, C, 3)), 2: both_at_once}, {}) is None


def test_a_chain_passing_a_commit_twice_counts_its_first_passage() -> None:
    cycled = chain((A, B, 1), (B, A, 2), (A, B, 3), rewrites=(1,))
    once = chain((A, B, 1))
    move = next_source_cursor(A, {1: cycled, 2: once}, {})
    assert move is not None and (move.sha, move.positions) == (B, {1: 0, 2: 0})
    # From there, space 2 has processed nothing more: the cursor waits, never reuses the
    # first passage of A..B for the second.
    assert next_source_cursor(B, {1: cycled, 2: once}, move.positions) is None
    caught_up = chain((A, B, 1), (B, A, 2), rewrites=(1,))
    back = next_source_cursor(B, {1: cycled, 2: caught_up}, move.positions)
    assert back is not None and (back.sha, back.forced) == (A, True)


def test_out_of_order_delivery_still_reaches_the_head() -> None:
    """Push 2 delivered first (id 5), push 1 second (id 6): a space that processed them in
    delivery order, and one that covered both at once, meet at the head."""
    move = next_source_cursor(A, {1: chain((A, C, 5)), 2: chain((A, B, 6), (B, C, 5))}, {})
    assert move is not None and move.sha == C


def test_a_whole_tree_start_counts_as_starting_at_the_cursor() -> None:
    assert locate(A, chain((None, C, 4))) == -1
    move = next_source_cursor(A, {1: chain((None, C, 4)), 2: chain((A, C, 4))}, {})
    assert move is not None and move.sha == C


def test_islands_join_the_chain_when_the_coverage_reaches_them() -> None:
    islands = [(7, A, B), (8, OLD, D)]
    assert absorbed_islands(B, islands) == [7]
    assert absorbed_islands(C, islands) == []
    assert absorbed_islands(D, [(8, OLD, D), (9, A, OLD)]) == [8, 9]


def test_pushes_in_a_range_are_found_without_taking_a_rewind_back_into_it() -> None:
    pushes = [
        PushLink(1, A, B),
        PushLink(2, B, C),
        PushLink(3, C, B, forced=True),  # a rewind, not part of A..C
        PushLink(4, OLD, D),
    ]
    assert pushes_in_range(pushes, head_sha=C, link_from_sha=A) == [2, 1]
    assert pushes_in_range(pushes, head_sha=B, link_from_sha=C, own_event_ids=[3]) == [3]
    assert pushes_in_range(pushes, head_sha=B, link_from_sha=C) == []  # not its own: not taken
    assert pushes_in_range(pushes, head_sha=D, link_from_sha=A) == []  # no chain leads there
    created = [PushLink(1, "0" * 40, A), PushLink(2, A, B)]
    assert pushes_in_range(created, head_sha=B, link_from_sha=None) == [2, 1]


def test_the_chain_root_follows_a_push_delivered_late() -> None:
    assert chain_root([PushLink(5, B, C), PushLink(6, A, B)]) == PushLink(6, A, B)
    assert chain_root([]) is None


@pytest.mark.parametrize(
    ("age_seconds", "expected"),
    [(5, [11]), (3600, [])],
)
def test_a_missing_id_is_pending_only_while_it_is_recent(
    age_seconds: int, expected: list[int]
) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    received = [(10, now - timedelta(hours=2)), (12, now - timedelta(seconds=age_seconds))]
    assert pending_holes(received, after_id=9, up_to_id=12, now=now) == expected
