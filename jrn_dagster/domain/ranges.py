"""Which commit range a space processes for one source branch (the per-space base)."""

from dataclasses import dataclass
from enum import StrEnum

from jrn_dagster.domain.cursors import ProcessedRange, Relation
from jrn_dagster.domain.run_plan import CoveredRange


class BaseOrigin(StrEnum):
    BINDING_CURSOR = "binding_cursor"  # the space's own cursor: covers events it missed
    EVENT = "event"  # the event's base (webhook `before`, or the source cursor)
    NONE = "none"  # no usable base: the documented whole-tree fallback


@dataclass(frozen=True, slots=True)
class Ancestry:
    """Facts git establishes in the checkout (``git merge-base --is-ancestor``). A commit that
    is not in the fetched history (rewritten away, never pushed) is an ancestor of nothing."""

    event_base_reachable: bool  # event base is an ancestor of head
    covered_head_in_head: bool  # covered head is an ancestor of (or equal to) head
    head_in_covered_head: bool  # head is an ancestor of (or equal to) the covered head
    covered_from_in_event_base: bool  # covered_from is an ancestor of (or equal to) event base
    event_base_in_covered_from: bool  # event base is an ancestor of (or equal to) covered_from


@dataclass(frozen=True, slots=True)
class RangeDecision:
    base_sha: str | None
    head_sha: str
    origin: BaseOrigin
    relation: Relation | None
    stale: bool  # the whole range is already covered for this space: nothing to do
    base_precedes_covered_from: bool

    def processed(self) -> ProcessedRange:
        return ProcessedRange(
            base_sha=self.base_sha,
            head_sha=self.head_sha,
            relation=self.relation,
            base_precedes_covered_from=self.base_precedes_covered_from,
        )


def relation_of(covered: CoveredRange, head_sha: str, ancestry: Ancestry) -> Relation:
    if covered.head_sha == head_sha:
        return Relation.SAME
    if ancestry.covered_head_in_head:
        return Relation.DESCENDANT
    if ancestry.head_in_covered_head:
        return Relation.ANCESTOR
    return Relation.DIVERGED


def decide_range(
    *,
    head_sha: str,
    event_base_sha: str | None,
    covered: CoveredRange | None,
    ancestry: Ancestry,
) -> RangeDecision:
    """The binding cursor when it is an ancestor of the head (so a space that missed an event
    still covers that range), else the event's base; stale when base..head is already covered.
    A range only partly covered (an older event retried after a newer one succeeded on a
    binding with a shorter history) is processed with the event's base."""
    event_base = event_base_sha if ancestry.event_base_reachable else None
    event_origin = BaseOrigin.EVENT if event_base else BaseOrigin.NONE
    if covered is None:
        return RangeDecision(event_base, head_sha, event_origin, None, False, True)
    relation = relation_of(covered, head_sha, ancestry)
    if relation is Relation.DESCENDANT:
        return RangeDecision(
            covered.head_sha, head_sha, BaseOrigin.BINDING_CURSOR, relation, False, False
        )
    precedes = event_base is None or ancestry.event_base_in_covered_from
    if relation in (Relation.SAME, Relation.ANCESTOR):
        whole_history_covered = covered.covered_from_sha is None
        stale = whole_history_covered or (
            event_base is not None and ancestry.covered_from_in_event_base
        )
        return RangeDecision(event_base, head_sha, event_origin, relation, stale, precedes)
    return RangeDecision(event_base, head_sha, event_origin, relation, False, precedes)
