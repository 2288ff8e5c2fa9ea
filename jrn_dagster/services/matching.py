"""The adapter: a stored webhook event in, ``CliImpactJobParams`` (one per true source) out."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from jrn_dagster.db.repositories.matching import MatchingRepository
from jrn_dagster.db.unit_of_work import UnitOfWork
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.matching import (
    BindingCandidate,
    Verdict,
    explain,
    params_for_push,
    push_target,
)
from jrn_dagster.domain.push import PushEvent, normalize_push
from jrn_dagster.domain.records import SpacePush, SpacePushStatus, SpaceRange, WebhookEvent
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
    """Read-only: one event through the batched matching (``match_events`` without the
    duplicate check). Errors of the query are raised."""
    return _matched(matching, [event])[0]


def match_events(uow: UnitOfWork, events: Sequence[WebhookEvent]) -> list[EventMatch]:
    """What the sensor makes of a batch of events, in their order, in a fixed number of
    statements: one matching query for every push of the batch (selection by SQL, narrowing by
    binding JRN patterns in Python) and one query for the duplicate check.

    Whatever goes wrong with one event becomes that event's ``invalid`` outcome with its reason:
    one event never stops the sensor (docs/cursors.md, "No poison events"). A batched statement
    that fails is retried event by event, so that only the event that makes it fail is invalid.
    """
    try:
        return _with_duplicates(uow, _matched(uow.matching, events))
    except Exception as error:
        uow.rollback()  # a failed statement poisons the transaction on PostgreSQL
        if len(events) == 1:
            return [_invalid(events[0].id, error)]
        logger.warning(
            "matching %d events at once failed (%s): matching them one by one",
            len(events),
            _reason(error),
        )
        return [safe_match(uow, event) for event in events]


def safe_match(uow: UnitOfWork, event: WebhookEvent) -> EventMatch:
    """``match_events`` for one event (``jrn-dagster match`` and ``events list`` see exactly
    what the sensor sees)."""
    return match_events(uow, [event])[0]


def _reason(error: Exception) -> str:
    return redact(f"{type(error).__name__}: {error}")[:MAX_REASON_LENGTH]


def _invalid(event_id: int, error: Exception) -> EventMatch:
    reason = _reason(error)
    logger.warning("event %s: matching failed: %s", event_id, reason)
    return EventMatch(event_id, Outcome.INVALID, detail=f"matching failed: {reason}")


def _matched(matching: MatchingRepository, events: Sequence[WebhookEvent]) -> list[EventMatch]:
    results: dict[int, EventMatch] = {}
    pushes: dict[int, PushEvent] = {}
    for event in events:
        try:
            normalized = _normalized(event)
        except Exception as error:  # a payload shape nothing foresaw: this event only
            results[event.id] = _invalid(event.id, error)
            continue
        if isinstance(normalized, EventMatch):
            results[event.id] = normalized
        else:
            pushes[event.id] = normalized
    candidates = (
        matching.true_source_bindings_for([push_target(push) for push in pushes.values()])
        if pushes
        else {}
    )
    for event_id, push in pushes.items():
        try:
            results[event_id] = _match_push(event_id, push, candidates[push_target(push)])
        except Exception as error:
            results[event_id] = _invalid(event_id, error)
    return [results[event.id] for event in events]


def _match_push(event_id: int, push: PushEvent, candidates: list[BindingCandidate]) -> EventMatch:
    params = params_for_push(push, candidates)
    if not params:
        return EventMatch(event_id, Outcome.NO_TRUE_SOURCE, push=push, detail=str(push.coordinate))
    slugs = {c.space_id: c.space_slug for c in candidates}
    return EventMatch(event_id, Outcome.MATCHED, push=push, params=params, space_slugs=slugs)


def _with_duplicates(uow: UnitOfWork, matches: list[EventMatch]) -> list[EventMatch]:
    """A matched push is a duplicate when the previous push to its branch was this very push:
    a branch cannot move from ``before`` to ``after`` twice in a row, so the second is the same
    push delivered again (under another delivery id)."""
    asked = [
        (match.event_id, match.push.coordinate.key, match.push.branch)
        for match in matches
        if match.outcome is Outcome.MATCHED
        and match.push is not None
        and match.push.branch is not None
    ]
    previous = uow.events.previous_pushes(asked) if asked else {}
    result = []
    for match in matches:
        before = previous.get(match.event_id)
        push = match.push
        if (
            before is not None
            and push is not None
            and (before.before_sha, before.after_sha) == (push.before, push.after)
        ):
            result.append(
                EventMatch(
                    match.event_id,
                    Outcome.DUPLICATE,
                    push=push,
                    detail=f"same push as event {before.event_id} "
                    "(delivered again under another id)",
                )
            )
        else:
            result.append(match)
    return result


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
    # Every push the run claimed for this space, when it claimed several: a burst coalesced by
    # the sensor (docs/cursors.md, "Bursts").
    burst_event_ids: list[int] = field(default_factory=list)

    def describe(self) -> str:
        record, processed = self.record, self.range
        text = record.status.value
        if record.dagster_run_id:
            text += f" (run {record.dagster_run_id})"
        if self.burst_event_ids:
            text += f" with pushes {', '.join(map(str, self.burst_event_ids))} in one run"
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
            r,
            ranges.get(r.range_id) if r.range_id is not None else None,
            _burst_of(uow, r),
        )
        for r in records
    }


def _burst_of(uow: UnitOfWork, record: SpacePush) -> list[int]:
    """The pushes the record's run claimed for the same source and space (those it covered
    through its range without claiming them are ``covered``, not part of the burst)."""
    if record.dagster_run_id is None or record.status is SpacePushStatus.COVERED:
        return []
    claimed = sorted(
        other.event_id
        for other in uow.coverage.pushes_by_run(record.dagster_run_id)
        if (other.source_id, other.space_id) == (record.source_id, record.space_id)
        and other.status is not SpacePushStatus.COVERED
    )
    return claimed if len(claimed) > 1 else []
