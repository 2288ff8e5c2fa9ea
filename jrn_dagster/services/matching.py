"""The adapter: a stored webhook event in, ``CliImpactJobParams`` (one per true source) out."""

import logging
from dataclasses import dataclass, field
from enum import StrEnum

from jrn_dagster.db.repositories.matching import MatchingRepository
from jrn_dagster.db.unit_of_work import UnitOfWork
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.matching import Verdict, explain, params_for_push
from jrn_dagster.domain.push import PushEvent, normalize_push
from jrn_dagster.domain.records import SpacePush, SpaceRange, WebhookEvent
from jrn_dagster.domain.steps import CliImpactJobParams
from jrn_dagster.redaction import redact

logger = logging.getLogger(__name__)

PUSH_EVENT = "push"
MAX_REASON_LENGTH = 300


class Outcome(StrEnum):
    MATCHED = "matched"
    NOT_A_PUSH = "not_a_push"
    NOTHING_TO_DO = "nothing_to_do"  # tag push, branch deletion, non-branch ref
    NO_TRUE_SOURCE = "no_true_source"  # no binding of an enabled true source matched
    DUPLICATE = "duplicate"  # the branch's previous push, delivered again under another id
    INVALID = "invalid"  # unreadable, or matching it failed: reported, never retried


@dataclass(frozen=True)
class EventMatch:
    event_id: int
    outcome: Outcome
    push: PushEvent | None = None
    params: list[CliImpactJobParams] = field(default_factory=list)
    space_slugs: dict[int, str] = field(default_factory=dict)
    detail: str | None = None


def _normalized(event: WebhookEvent) -> EventMatch | PushEvent:
    if event.event_type != PUSH_EVENT:
        return EventMatch(event.id, Outcome.NOT_A_PUSH, detail=f"{event.event_type} event")
    try:
        push = normalize_push(event.payload)
    except InvalidInputError as error:
        return EventMatch(event.id, Outcome.INVALID, detail=str(error))
    if not push.actionable:
        return EventMatch(event.id, Outcome.NOTHING_TO_DO, push=push, detail=push.skip_reason)
    return push


def match_event(matching: MatchingRepository, event: WebhookEvent) -> EventMatch:
    """Read-only: selection by indexed SQL, narrowing by binding JRN patterns."""
    push = _normalized(event)
    if isinstance(push, EventMatch):
        return push
    assert push.branch is not None  # noqa: S101 - actionable pushes name a branch
    candidates = matching.true_source_bindings(
        repo_key=push.coordinate.key,
        host=push.host,
        branch=push.branch,
        installation_id=push.installation_id,
    )
    params = params_for_push(push, candidates)
    if not params:
        return EventMatch(event.id, Outcome.NO_TRUE_SOURCE, push=push, detail=str(push.coordinate))
    slugs = {c.space_id: c.space_slug for c in candidates}
    return EventMatch(event.id, Outcome.MATCHED, push=push, params=params, space_slugs=slugs)


def safe_match(uow: UnitOfWork, event: WebhookEvent) -> EventMatch:
    """``match_event``, and whatever goes wrong with one event becomes that event's ``invalid``
    outcome with its reason: one event never stops the sensor (docs/cursors.md)."""
    try:
        match = match_event(uow.matching, event)
        if match.outcome is Outcome.MATCHED and match.push is not None:
            duplicate = _duplicate_of(uow, event.id, match.push)
            if duplicate is not None:
                return EventMatch(
                    event.id,
                    Outcome.DUPLICATE,
                    push=match.push,
                    detail=f"same push as event {duplicate} (delivered again under another id)",
                )
        return match
    except Exception as error:
        uow.rollback()  # a failed statement poisons the transaction on PostgreSQL
        reason = redact(f"{type(error).__name__}: {error}")[:MAX_REASON_LENGTH]
        logger.warning("event %s: matching failed: %s", event.id, reason)
        return EventMatch(event.id, Outcome.INVALID, detail=f"matching failed: {reason}")


def _duplicate_of(uow: UnitOfWork, event_id: int, push: PushEvent) -> int | None:
    """The previous push to the branch, if it was this very push: a branch cannot move from
    ``before`` to ``after`` twice in a row, so the second is the same push delivered again."""
    if push.branch is None:
        return None
    previous = uow.events.pushes(
        push.coordinate.key, push.branch, up_to_id=event_id - 1, newest_first=True, limit=1
    )
    if previous and (previous[0].before_sha, previous[0].after_sha) == (push.before, push.after):
        return previous[0].event_id
    return None


def explain_event(uow: UnitOfWork, event: WebhookEvent) -> tuple[EventMatch, list[Verdict]]:
    """The match (as the sensor sees it), and a verdict for every source and binding of the
    event's repository."""
    result = safe_match(uow, event)
    if result.push is None or not result.push.actionable:
        return result, []
    sources = uow.matching.repository_sources(result.push.coordinate.key)
    return result, explain(result.push, sources)


@dataclass(frozen=True)
class SpaceOutcome:
    """What one space's runs did with a push: the record and the range they processed."""

    record: SpacePush
    range: SpaceRange | None

    def describe(self) -> str:
        record, processed = self.record, self.range
        text = record.status.value
        if record.dagster_run_id:
            text += f" (run {record.dagster_run_id})"
        if processed is not None:
            base = processed.base_sha[:12] if processed.base_sha else "whole tree"
            text += (
                f": {base}..{processed.head_sha[:12]}, "
                f"{processed.comparison.describe(processed.base_sha)}"
            )
        if record.error:
            text += f": {record.error.splitlines()[0][:200]}"
        return text


def space_outcomes(uow: UnitOfWork, event_id: int) -> dict[tuple[int, int], SpaceOutcome]:
    """(source id, space id) -> what the runs did with this push (absent: not yet run)."""
    records = uow.coverage.pushes_of_event(event_id)
    ranges = uow.coverage.ranges_by_id([r.range_id for r in records if r.range_id is not None])
    return {
        (r.source_id, r.space_id): SpaceOutcome(
            r, ranges.get(r.range_id) if r.range_id is not None else None
        )
        for r in records
    }
