"""Coverage: which commits of a source branch each space has processed, and how cursors move.

The rules are written out, with worked examples, in ``docs/cursors.md``. In short:

- A run of one space processes one **range** of one source branch: ``base..head`` as git sees it
  (``base`` None: every file of the head tree). Where the range starts in the branch's history is
  its ``link_from`` (None: from anywhere, for a whole-tree range). A succeeded range is a link
  ``link_from -> head`` in that space's chain.
- The **binding cursor** (``CoveredRange``) is the space's contiguous coverage: the commits
  reachable from ``head_sha`` and not from ``covered_from_sha`` (None: from the first commit). It
  only grows by ranges that touch it, so it never claims a commit the space did not process.
- The **source cursor** moves along links only: from where it stands to the newest point that
  every required space reaches through its own succeeded ranges. A push nobody processed (not
  yet launched, not yet visible, failed) is a missing link: it holds the cursor.

Everything here is pure: git facts come in as ``Ancestry``, database facts as plain values.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from jrn_dagster.domain.base import Frozen
from jrn_dagster.domain.refs import is_zero_sha


class CoveredRange(Frozen):
    """A binding cursor: what one space has covered of one source branch."""

    head_sha: str
    covered_from_sha: str | None
    event_id: int | None = None  # the newest push the coverage includes (None: unknown)


class Relation(StrEnum):
    """How a run's head relates to the space's covered head, as git sees it."""

    SAME = "same"
    DESCENDANT = "descendant"  # the head contains the covered head: history moved on
    ANCESTOR = "ancestor"  # an older head: a push delivered late, or a rewind
    DIVERGED = "diverged"  # neither: history was rewritten (forced push)


class Comparison(StrEnum):
    """What a range's diff compares the head with."""

    BINDING_CURSOR = "binding_cursor"  # the space's covered head: it covers every push it missed
    EVENT_BASE = "event_base"  # the push's base (webhook `before`, or the source cursor)
    OLD_HEAD = "old_head"  # history rewritten: tree diff from the last processed head
    MERGE_BASE = "merge_base"  # rewritten, old head gone: the newest processed commit still there
    WHOLE_TREE = "whole_tree"  # nothing to compare with: every file of the head tree counts

    @property
    def rewrites(self) -> bool:
        return self in (Comparison.OLD_HEAD, Comparison.MERGE_BASE)

    def describe(self, base_sha: str | None) -> str:
        """The comparison in words a reader of a notice or a report understands."""
        short = (base_sha or "")[:12]
        return {
            Comparison.BINDING_CURSOR: f"changes since {short}, the last commit this space "
            "processed",
            Comparison.EVENT_BASE: f"changes since {short}, the commit the push started from",
            Comparison.OLD_HEAD: f"history was rewritten (forced push): compared with {short}, "
            "the last commit this space processed, which is no longer on the branch",
            Comparison.MERGE_BASE: f"history was rewritten (forced push) and the last processed "
            f"commit is gone: compared with {short}, the newest processed commit still on the "
            "branch",
            Comparison.WHOLE_TREE: "no earlier commit to compare with: every file of the head "
            "counts as changed",
        }[self]


class Extension(StrEnum):
    """How a succeeded range changes the space's binding cursor."""

    NEW = "new"  # the space had no coverage: it starts here
    UP = "up"  # from the covered head to a newer head
    DOWN = "down"  # an older range that reaches the bottom of the coverage: it grows downwards
    RESTART = "restart"  # history rewritten: coverage restarts from the new head
    NONE = "none"  # a range that does not touch the coverage: kept as a link, cursor unchanged


@dataclass(frozen=True, slots=True)
class Ancestry:
    """Facts git established in the checkout. A commit the clone could not find is an
    ancestor of nothing, which never claims coverage that is not there."""

    event_base_reachable: bool  # event base is an ancestor of (or equal to) the head
    event_base_present: bool  # the event base's tree can be diffed (it may be off the history)
    covered_head_in_head: bool  # covered head is an ancestor of (or equal to) the head
    head_in_covered_head: bool  # head is an ancestor of (or equal to) the covered head
    covered_head_present: bool  # the covered head's tree can be diffed
    covered_from_in_event_base: bool  # covered_from is an ancestor of (or equal to) event base
    event_base_in_covered_from: bool  # event base is an ancestor of (or equal to) covered_from
    covered_from_in_head: bool  # covered_from is an ancestor of (or equal to) the head
    # covered_from is the source cursor or one of its ancestors: everything below the coverage
    # was processed by every space.
    covered_from_anchored: bool = False
    merge_point: str | None = None  # newest processed commit in the head's history
    head_on_branch: bool = True  # the head is in the branch's current history
    covered_head_on_branch: bool = False  # so is the covered head (then it was not rewound)


class RangeDecision(Frozen):
    """The range one space processes for one source branch (small: op outputs carry it)."""

    head_sha: str
    base_sha: str | None  # what git diff compares with; None: the whole head tree
    link_from_sha: str | None  # where the range starts in the branch history; None: anywhere
    comparison: Comparison
    relation: Relation | None  # to the covered head; None when nothing was covered yet
    extension: Extension
    skip_reason: str | None = None  # set: nothing to process (already covered, or superseded)

    @property
    def skipped(self) -> bool:
        return self.skip_reason is not None


def relation_of(covered: CoveredRange, head_sha: str, facts: Ancestry) -> Relation:
    if covered.head_sha == head_sha:
        return Relation.SAME
    if facts.covered_head_in_head:
        return Relation.DESCENDANT
    if facts.head_in_covered_head:
        return Relation.ANCESTOR
    return Relation.DIVERGED


def _range(  # noqa: PLR0917 - one row of the decision table, read left to right
    head: str,
    base: str | None,
    link_from: str | None,
    comparison: Comparison,
    relation: Relation | None,
    extension: Extension,
) -> RangeDecision:
    return RangeDecision(
        head_sha=head,
        base_sha=base,
        link_from_sha=link_from,
        comparison=comparison,
        relation=relation,
        extension=extension,
    )


def _skip(head: str, relation: Relation | None, reason: str) -> RangeDecision:
    return RangeDecision(
        head_sha=head,
        base_sha=None,
        link_from_sha=None,
        comparison=Comparison.WHOLE_TREE,
        relation=relation,
        extension=Extension.NONE,
        skip_reason=reason,
    )


def _rewrite(
    covered: CoveredRange, head: str, relation: Relation, facts: Ancestry
) -> RangeDecision:
    """History rewritten under the space: compare with the last head it processed if that
    commit can still be had, else with the newest processed commit still in the new history,
    else the whole tree. The link starts at the old head: coverage goes on from there."""
    old = covered.head_sha
    if facts.covered_head_present:
        return _range(head, old, old, Comparison.OLD_HEAD, relation, Extension.RESTART)
    if facts.merge_point is not None:
        return _range(
            head, facts.merge_point, old, Comparison.MERGE_BASE, relation, Extension.RESTART
        )
    return _range(head, None, None, Comparison.WHOLE_TREE, relation, Extension.RESTART)


def _first_range(head: str, event_base: str | None, facts: Ancestry) -> RangeDecision:
    """No coverage yet: from the event base (the source cursor for a space new to a source that
    others already process, so that its coverage joins theirs)."""
    if event_base is not None and facts.event_base_reachable:
        return _range(head, event_base, event_base, Comparison.EVENT_BASE, None, Extension.NEW)
    if event_base is not None and facts.event_base_present:
        # The base is not in the head's history (a forced push): a tree diff still says exactly
        # what changed since it.
        return _range(head, event_base, event_base, Comparison.OLD_HEAD, None, Extension.NEW)
    return _range(head, None, None, Comparison.WHOLE_TREE, None, Extension.NEW)


def decide_range(
    *,
    head_sha: str,
    event_base_sha: str | None,
    rewind: bool,
    covered: CoveredRange | None,
    facts: Ancestry,
) -> RangeDecision:
    """The range one space processes for one source branch, from what it covered and git.

    ``rewind``: an older head is a deliberate rewind (a forced push newer than the coverage, or a
    catch-up to the branch tip), not a push delivered late.
    """
    if not facts.head_on_branch:
        # Delivered or retried after a forced push replaced it: its commits are gone.
        return _skip(
            head_sha,
            relation_of(covered, head_sha, facts) if covered else None,
            "the head is no longer on the branch: a forced push replaced it",
        )
    if covered is None:
        return _first_range(head_sha, event_base_sha, facts)
    relation = relation_of(covered, head_sha, facts)
    if relation is Relation.SAME:
        return _skip(head_sha, relation, "this space has already processed up to this head")
    if relation is Relation.DESCENDANT:
        old = covered.head_sha
        return _range(head_sha, old, old, Comparison.BINDING_CURSOR, relation, Extension.UP)
    if relation is Relation.ANCESTOR:
        # A forced push to an older commit rewinds the branch, unless the branch has since
        # come back past the covered head (the push was delivered or retried late).
        if rewind and not facts.covered_head_on_branch:
            return _rewrite(covered, head_sha, relation, facts)
        return _older_range(head_sha, event_base_sha, covered, relation, facts)
    return _rewrite(covered, head_sha, relation, facts)


def _older_range(
    head: str,
    event_base: str | None,
    covered: CoveredRange,
    relation: Relation,
    facts: Ancestry,
) -> RangeDecision:
    """A push older than the coverage (delivered late, or retried after newer ones)."""
    base = event_base if event_base is not None and facts.event_base_reachable else None
    inside = base is not None and facts.covered_from_in_event_base
    if covered.covered_from_sha is None or facts.covered_from_anchored or inside:
        # Every commit of the head's history is covered, or below the coverage and processed by
        # every space: nothing of this push is left to process.
        return _skip(head, relation, "its whole range is inside what this space has covered")
    comparison = Comparison.EVENT_BASE if base is not None else Comparison.WHOLE_TREE
    touches = facts.covered_from_in_head and (base is None or facts.event_base_in_covered_from)
    extension = Extension.DOWN if touches else Extension.NONE
    return _range(head, base, base, comparison, relation, extension)


def next_binding_cursor(
    current: CoveredRange | None, decision: RangeDecision, event_id: int | None
) -> CoveredRange | None:
    """The binding cursor after ``decision``'s range succeeded, or None to leave it as it is.
    ``current`` must be the cursor the decision was made against."""
    if decision.skipped:
        return None
    newest = max((e for e in (event_id, current.event_id if current else None) if e), default=None)
    match decision.extension:
        case Extension.NEW | Extension.RESTART:
            return CoveredRange(
                head_sha=decision.head_sha, covered_from_sha=decision.base_sha, event_id=event_id
            )
        case Extension.UP if current is not None:
            return CoveredRange(
                head_sha=decision.head_sha,
                covered_from_sha=current.covered_from_sha,
                event_id=newest,
            )
        case Extension.DOWN if current is not None:
            return CoveredRange(
                head_sha=current.head_sha, covered_from_sha=decision.base_sha, event_id=newest
            )
    return None


# --- The source cursor: a walk along succeeded ranges ---------------------------------------


@dataclass(frozen=True, slots=True)
class ChainStep:
    """A range applied to one space's binding cursor: a step of the space's own history of what
    it processed, in the order it did (``seq``)."""

    seq: int
    start: str | None  # where the range starts (None: anywhere, a whole-tree range)
    end: str  # its head
    event_id: int  # the push its run was for: the branch stood at ``end`` after it
    rewrites: bool = False  # it replaced a rewritten history


@dataclass(frozen=True, slots=True)
class SourceCursorMove:
    sha: str
    event_id: int
    forced: bool  # a step on the way replaced a rewritten history
    positions: dict[int, int]  # space -> seq of its step the cursor now stands at


def locate(start: str, chain: Sequence[ChainStep]) -> int | None:
    """Where ``start`` is in a chain that never met the source cursor (a new binding, or no
    cursor yet): before its first step when the chain starts there (or anywhere), else after
    the first step that reaches it. None: the space has not processed from there."""
    if not chain:
        return None
    if chain[0].start in (start, None):
        return chain[0].seq - 1
    return next((step.seq for step in chain if step.end == start), None)


def next_source_cursor(
    start: str,
    chains: Mapping[int, Sequence[ChainStep]],
    positions: Mapping[int, int | None],
) -> SourceCursorMove | None:
    """The furthest commit every space's chain passes after the source cursor (``start``,
    standing at ``positions`` in each chain), or None when they pass none in common.

    Each chain is what one space processed, in order, each step continuing the previous one:
    a commit every chain passes is one every space has reviewed every change up to, whatever
    order pushes were delivered or runs finished in. A commit a chain passes twice (a rewind
    and back) counts at its first passage after the cursor: never more than was processed."""
    if not chains:
        return None
    starts: dict[int, int] = {}
    firsts: dict[int, dict[str, ChainStep]] = {}
    for space, chain in chains.items():
        at = positions.get(space)
        if at is None:
            at = locate(start, chain)
        if at is None:
            return None
        starts[space] = at
        seen: dict[str, ChainStep] = {}
        for step in chain:
            if step.seq > at:
                seen.setdefault(step.end, step)
        firsts[space] = seen
    reference = next(iter(firsts.values()))
    common = set.intersection(*(set(seen) for seen in firsts.values()))
    if not common:
        return None
    target = max(common, key=lambda sha: reference[sha].seq)
    reached = {space: seen[target].seq for space, seen in firsts.items()}
    forced = any(
        step.rewrites
        for space, chain in chains.items()
        for step in chain
        if starts[space] < step.seq <= reached[space]
    )
    return SourceCursorMove(
        sha=target, event_id=reference[target].event_id, forced=forced, positions=reached
    )


def absorbed_islands(
    bottom: str | None, islands: Sequence[tuple[int, str | None, str]]
) -> list[int]:
    """Ranges processed below a coverage with a gap (``(id, base, head)``) that now touch its
    bottom, in the order they extend it downwards: each one's head is the bottom so far."""
    absorbed: list[int] = []
    by_head = {head: (range_id, base) for range_id, base, head in islands}
    while bottom is not None and bottom in by_head:
        range_id, base = by_head.pop(bottom)
        absorbed.append(range_id)
        bottom = base
    return absorbed


ZERO_SHA = "0" * 40


MAX_WALK_STEPS = 10_000


@dataclass(frozen=True, slots=True)
class PushLink:
    """A stored push, as coverage sees it: a step of the branch from ``before`` to ``after``."""

    event_id: int
    before_sha: str
    after_sha: str
    forced: bool = False


def pushes_in_range(
    pushes: Iterable[PushLink],
    *,
    head_sha: str,
    link_from_sha: str | None,
    own_event_ids: Iterable[int] = (),
) -> list[int]:
    """The pushes a range ``link_from..head`` covers: a chain of pushes leading back from the
    head to the range's start without passing a commit twice (so a rewind that came back to a
    commit of the range is never taken for part of it). Forced pushes are only the range's own:
    another's rewritten history is not a part of this range. A whole-tree range (no start)
    covers the pushes leading back from its head as far as they go. Returns the newest first."""
    own = set(own_event_ids)
    by_after: dict[str, list[PushLink]] = {}
    for push in pushes:
        if not push.forced or push.event_id in own:
            by_after.setdefault(push.after_sha, []).append(push)
    for steps in by_after.values():
        steps.sort(key=lambda push: push.event_id, reverse=True)
    # Depth-first over (point, path so far); a path ends at the range's start.
    stack: list[tuple[str, tuple[PushLink, ...], frozenset[str]]] = [
        (head_sha, (), frozenset({head_sha}))
    ]
    longest: tuple[PushLink, ...] = ()
    budget = MAX_WALK_STEPS
    while stack and budget > 0:
        budget -= 1
        point, path, seen = stack.pop()
        if link_from_sha is not None and point == link_from_sha:
            return [push.event_id for push in path]
        if len(path) > len(longest):
            longest = path
        for step in reversed(by_after.get(point, [])):  # newest tried first
            before = step.before_sha
            if is_zero_sha(before):  # the branch was created here: nothing before it
                if link_from_sha is None:
                    longest = max(longest, (*path, step), key=len)
            elif before not in seen:
                stack.append((before, (*path, step), seen | {before}))
    return [push.event_id for push in longest] if link_from_sha is None else []


def chain_root(pushes: Iterable[PushLink]) -> PushLink | None:
    """The first push of a branch's known history: the oldest, or one that produced its base
    (a push delivered out of order)."""
    ordered = sorted(pushes, key=lambda push: push.event_id)
    if not ordered:
        return None
    by_after = {push.after_sha: push for push in ordered}
    root, seen = ordered[0], {ordered[0].event_id}
    while (earlier := by_after.get(root.before_sha)) is not None and earlier.event_id not in seen:
        root = earlier
        seen.add(root.event_id)
    return root
