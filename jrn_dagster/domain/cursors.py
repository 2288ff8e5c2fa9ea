"""How cursors move (DESIGN §6.3-6.4), as pure functions over facts gathered elsewhere.

Source cursor: per (source, branch), the head of the newest event such that it and every
earlier event of that source and branch are done in all their affected spaces. Events are
ordered by their webhook event id (the order GitHub delivered the pushes in).

Binding cursor: per (space, source, branch), the history a space has covered: the commits
reachable from ``head_sha`` and not from ``covered_from_sha`` (None: from the first commit).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from jrn_dagster.domain.run_plan import CoveredRange

DONE_STATUSES = frozenset({"succeeded", "skipped"})


@dataclass(frozen=True, slots=True)
class EventProgress:
    """One source event (an impact job) and how far its spaces got."""

    event_id: int
    head_sha: str
    affected_space_ids: frozenset[int]
    done_space_ids: frozenset[int]

    @property
    def done(self) -> bool:
        return self.affected_space_ids <= self.done_space_ids


def next_source_cursor(
    current_event_id: int | None,
    events: Iterable[EventProgress],
    in_flight_event_ids: Iterable[int] = (),
) -> EventProgress | None:
    """The event the source cursor should move to, or None to leave it where it is.

    ``events`` are the recorded events after the cursor (any order). ``in_flight_event_ids``
    are events with a launched run that has not recorded anything yet: they hold the cursor
    back exactly like an unfinished recorded event does.
    """
    barrier = min(in_flight_event_ids, default=None)
    newest_done = None
    for event in sorted(events, key=lambda e: e.event_id):
        if current_event_id is not None and event.event_id <= current_event_id:
            continue
        if (barrier is not None and event.event_id >= barrier) or not event.done:
            break
        newest_done = event
    return newest_done


class Relation(StrEnum):
    """How a processed head relates to the covered head, as git sees it."""

    SAME = "same"
    DESCENDANT = "descendant"  # the new head contains the covered head: history moved on
    ANCESTOR = "ancestor"  # an older head (e.g. an older event retried late)
    DIVERGED = "diverged"  # neither: history was rewritten (forced push)


@dataclass(frozen=True, slots=True)
class ProcessedRange:
    base_sha: str | None  # None: the whole history up to head was processed
    head_sha: str
    relation: Relation | None  # to the covered head; None when nothing was covered yet
    # Whether base_sha is an ancestor (or equal) of covered_from_sha: the range reaches further
    # back than what is covered. Only meaningful for Relation.ANCESTOR / SAME.
    base_precedes_covered_from: bool = False


def next_binding_cursor(
    current: CoveredRange | None, processed: ProcessedRange
) -> tuple[CoveredRange, bool]:
    """The binding cursor after a successful run, and whether history was rewritten.

    The head never moves backwards. An older range that reaches further back extends the
    covered history downwards; a rewritten history restarts coverage from the new head.
    """
    if current is None or processed.relation is None:
        return CoveredRange(head_sha=processed.head_sha, covered_from_sha=processed.base_sha), False
    if processed.relation is Relation.DIVERGED:
        return CoveredRange(head_sha=processed.head_sha, covered_from_sha=processed.base_sha), True
    if processed.relation is Relation.DESCENDANT:
        return CoveredRange(
            head_sha=processed.head_sha, covered_from_sha=current.covered_from_sha
        ), False
    # SAME or ANCESTOR: the head stays; the covered history may reach further back.
    covered_from = current.covered_from_sha
    if covered_from is not None and (
        processed.base_sha is None or processed.base_precedes_covered_from
    ):
        covered_from = processed.base_sha
    return CoveredRange(head_sha=current.head_sha, covered_from_sha=covered_from), False
