"""One tick of ``webhook_event_sensor`` as a plain function: read a bounded batch of events after
the cursor, match each, and say which runs to request. Reads only; writes nothing."""

from collections import Counter
from dataclasses import dataclass, field

from jrn_dagster.db.unit_of_work import Database, UnitOfWork
from jrn_dagster.domain.event_cursor import EventCursor
from jrn_dagster.domain.steps import CliImpactJobParams, run_key
from jrn_dagster.services.matching import EventMatch, Outcome, safe_match


@dataclass(frozen=True)
class PlannedRun:
    run_key: str
    space_slug: str
    space_id: int
    event_id: int
    params: CliImpactJobParams


@dataclass
class TickPlan:
    cursor: EventCursor
    runs: list[PlannedRun] = field(default_factory=list)
    matches: list[EventMatch] = field(default_factory=list)
    events_read: int = 0

    @property
    def space_slugs(self) -> list[str]:
        return sorted({run.space_slug for run in self.runs})

    def counts(self) -> dict[str, int]:
        counts = Counter(match.outcome.value for match in self.matches)
        return {outcome.value: counts.get(outcome.value, 0) for outcome in Outcome}

    def summary(self) -> str:
        parts = ", ".join(f"{count} {name}" for name, count in self.counts().items() if count)
        return (
            f"{self.events_read} event(s) read up to id {self.cursor.last_id}"
            f"{': ' + parts if parts else ''}; {len(self.runs)} run(s) requested"
        )


def plan_tick(database: Database, cursor: EventCursor, *, batch_size: int, now: float) -> TickPlan:
    """Reads only: the sensor writes nothing to the application database."""
    with database.unit_of_work() as uow:
        return _plan(uow, cursor, batch_size=batch_size, now=now)


def _plan(uow: UnitOfWork, cursor: EventCursor, *, batch_size: int, now: float) -> TickPlan:
    events = uow.events.after(cursor.last_id, also_ids=sorted(cursor.holes), limit=batch_size)
    plan = TickPlan(cursor=cursor.advance([e.id for e in events], now=now), events_read=len(events))
    for event in events:
        match = safe_match(uow, event)
        plan.matches.append(match)
        for params in match.params:
            for space_id in params.affected_space_ids:
                slug = match.space_slugs[space_id]
                key = run_key(params.source_id, [event.id], slug)
                plan.runs.append(PlannedRun(key, slug, space_id, event.id, params))
    return plan
