"""The adapter: a stored webhook event in, ``CliImpactJobParams`` (one per true source) out."""

from dataclasses import dataclass, field
from enum import StrEnum

from jrn_dagster.db.repositories.matching import MatchingRepository
from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.matching import Verdict, explain, params_for_push
from jrn_dagster.domain.params import CliImpactJobParams
from jrn_dagster.domain.push import PushEvent, normalize_push
from jrn_dagster.domain.records import WebhookEvent

PUSH_EVENT = "push"


class Outcome(StrEnum):
    MATCHED = "matched"
    NOT_A_PUSH = "not_a_push"
    NOTHING_TO_DO = "nothing_to_do"  # tag push, branch deletion, non-branch ref
    NO_TRUE_SOURCE = "no_true_source"  # no binding of an enabled true source matched
    INVALID = "invalid"  # malformed payload: reported, never retried


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


def explain_event(
    matching: MatchingRepository, event: WebhookEvent
) -> tuple[EventMatch, list[Verdict]]:
    """The match, and a verdict for every source and binding of the event's repository."""
    result = match_event(matching, event)
    if result.push is None or not result.push.actionable:
        return result, []
    return result, explain(result.push, matching.repository_sources(result.push.coordinate.key))
