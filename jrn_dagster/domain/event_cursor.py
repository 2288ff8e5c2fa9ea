"""The sensor's cursor over ``webhook_events``: the last id handled, plus recent holes.

Ids are handed out when a row is inserted, not when it is committed: with several receivers,
event 11 can become visible before event 10. A plain high-water mark would skip 10 forever, so
ids missing below the mark are remembered (with when they were first missed) and read again
until they show up or are old enough that no open transaction can still hold them (a rolled
back insert or a lost ``ON CONFLICT`` race leaves a hole for good).
"""

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_HOLE_TTL_SECONDS = 600.0
MAX_HOLES = 1000


class EventCursor(BaseModel):
    model_config = ConfigDict(frozen=True)

    last_id: int = 0
    # id -> unix time when it was first seen missing
    holes: dict[int, float] = Field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> "EventCursor":
        if not raw:
            return cls()
        if raw.isdigit():  # a plain id, e.g. set by hand with `dagster sensor cursor --set`
            return cls(last_id=int(raw))
        return cls.model_validate_json(raw)

    def serialize(self) -> str:
        return self.model_dump_json()

    def advance(
        self,
        handled_ids: list[int],
        *,
        now: float,
        hole_ttl_seconds: float = DEFAULT_HOLE_TTL_SECONDS,
    ) -> "EventCursor":
        """The cursor after handling ``handled_ids`` (the rows one batch read)."""
        handled = set(handled_ids)
        new_last = max([self.last_id, *handled])
        holes = {
            hole: since
            for hole, since in self.holes.items()
            if hole not in handled and now - since < hole_ttl_seconds
        }
        # Only the newest MAX_HOLES ids can be remembered, so only those are looked at.
        for missing in range(max(self.last_id + 1, new_last - MAX_HOLES), new_last):
            if missing not in handled:
                holes.setdefault(missing, now)
        if len(holes) > MAX_HOLES:  # keep the newest; a flood of holes is not a real backlog
            holes = dict(sorted(holes.items())[-MAX_HOLES:])
        return EventCursor(last_id=new_last, holes=holes)


def pending_holes(
    received: Sequence[tuple[int, datetime]],
    *,
    after_id: int,
    up_to_id: int,
    now: datetime,
    hole_ttl_seconds: float = DEFAULT_HOLE_TTL_SECONDS,
) -> list[int]:
    """Ids in ``(after_id, up_to_id]`` missing from ``received`` (id, received time) that a
    transaction may still be inserting: the next stored event after the gap arrived less than
    ``hole_ttl_seconds`` ago. Older holes are rolled-back inserts: they never fill."""
    stored = dict(received)
    holes: list[int] = []
    next_received: datetime | None = None
    for event_id in range(up_to_id, after_id, -1):
        if event_id in stored:
            next_received = stored[event_id]
            continue
        if next_received is None or (now - next_received).total_seconds() < hole_ttl_seconds:
            holes.append(event_id)
    return sorted(holes)
