"""One tick of ``webhook_event_sensor`` as a plain function: read a bounded batch of events after
the cursor, match them all at once, coalesce bursts, and say which runs to request. Reads only;
writes nothing.

A tick costs a fixed number of statements whatever its batch: one to read the events, one
matching query, one duplicate check (docs/benchmarks.md, B1).
"""

from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby

from jrn_dagster.db.unit_of_work import Database, UnitOfWork
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.push import PushEvent
from jrn_dagster.domain.steps import CliImpactJobParams, run_key
from jrn_dagster.services.matching import EventMatch, Outcome, match_events


@dataclass(frozen=True)
class PlannedRun:
    run_key: str
    space_slug: str
    space_id: int
    event_ids: tuple[int, ...]  # every push the run covers, oldest first
    params: CliImpactJobParams  # the newest push's head, the oldest push's base

    @property
    def event_id(self) -> int:
        """The newest push the run is for."""
        return self.event_ids[-1]


@dataclass(frozen=True)
class Burst:
    """Matched pushes of one source branch seen in one tick that one run per space covers: a
    chain in which each push starts where the previous one ended (docs/cursors.md, "Bursts")."""

    params: CliImpactJobParams
    event_ids: tuple[int, ...]
    space_slugs: dict[int, str]


@dataclass
class TickPlan:
    cursor: EventCursor
    runs: list[PlannedRun] = field(default_factory=list)
    matches: list[EventMatch] = field(default_factory=list)
    bursts: list[Burst] = field(default_factory=list)
    events_read: int = 0

    @property
    def space_slugs(self) -> list[str]:
        return sorted({run.space_slug for run in self.runs})

    def counts(self) -> dict[str, int]:
        counts = Counter(match.outcome.value for match in self.matches)
        return {outcome.value: counts.get(outcome.value, 0) for outcome in Outcome}

    def summary(self) -> str:
        parts = ", ".join(f"{count} {name}" for name, count in self.counts().items() if count)
        coalesced = len(
            {e for burst in self.bursts if len(burst.event_ids) > 1 for e in burst.event_ids}
        )
        return (
            f"{self.events_read} event(s) read up to id {self.cursor.last_id}"
            f"{': ' + parts if parts else ''}; {len(self.runs)} run(s) requested"
            + (f" ({coalesced} push(es) coalesced into bursts)" if coalesced else "")
        )


def plan_tick(database: Database, cursor: EventCursor, *, batch_size: int, now: float) -> TickPlan:
    """Reads only: the sensor writes nothing to the application database."""
    with database.unit_of_work() as uow:
        return _plan(uow, cursor, batch_size=batch_size, now=now)


def _plan(uow: UnitOfWork, cursor: EventCursor, *, batch_size: int, now: float) -> TickPlan:
    events = uow.events.after(cursor.last_id, also_ids=sorted(cursor.holes), limit=batch_size)
    plan = TickPlan(cursor=cursor.advance([e.id for e in events], now=now), events_read=len(events))
    plan.matches = match_events(uow, events)
    plan.bursts = coalesce(plan.matches)
    for burst in plan.bursts:
        params = burst.params
        for space_id in params.affected_space_ids:
            slug = burst.space_slugs[space_id]
            key = run_key(params.source_id, list(burst.event_ids), slug)
            plan.runs.append(PlannedRun(key, slug, space_id, burst.event_ids, params))
    return plan


@dataclass(frozen=True)
class _Pushed:
    event_id: int
    push: PushEvent
    params: CliImpactJobParams
    space_slugs: dict[int, str]


def coalesce(matches: list[EventMatch]) -> list[Burst]:
    """Matched pushes of one source branch, in event id order, become bursts: a push joins the
    burst before it when it starts where that burst ends (its ``before`` is the burst's head),
    was not forced, and reaches the same integration, JRN and spaces. Anything else starts a new
    burst: a forced push, a push delivered out of order, a gap (docs/cursors.md, "Bursts").

    Depends only on the pushes given, so the same pushes give the same bursts (and run keys)."""
    pushed = [
        _Pushed(match.event_id, match.push, params, match.space_slugs)
        for match in matches
        if match.outcome is Outcome.MATCHED and match.push is not None
        for params in match.params
    ]
    pushed.sort(key=lambda p: (p.params.source_id, p.push.branch or "", p.event_id))
    bursts: list[list[_Pushed]] = []
    for _, group in groupby(pushed, key=lambda p: (p.params.source_id, p.push.branch)):
        current: list[_Pushed] = []
        for item in group:
            if current and _continues(current[-1], item):
                current.append(item)
                continue
            if current:
                bursts.append(current)
            current = [item]
        if current:
            bursts.append(current)
    bursts.sort(key=lambda burst: burst[0].event_id)
    return [_burst(burst) for burst in bursts]


def _continues(last: _Pushed, item: _Pushed) -> bool:
    return (
        not item.push.forced
        and item.push.before == last.push.after
        and item.params.integration_id == last.params.integration_id
        and item.params.event_jrn == last.params.event_jrn
        and item.params.affected_space_ids == last.params.affected_space_ids
    )


def _burst(pushes: list[_Pushed]) -> Burst:
    oldest, newest = pushes[0], pushes[-1]
    params = newest.params
    if oldest is not newest:
        params = params.model_copy(update={"base_sha": oldest.params.base_sha})
    return Burst(
        params=params,
        event_ids=tuple(p.event_id for p in pushes),
        space_slugs=newest.space_slugs,
    )
