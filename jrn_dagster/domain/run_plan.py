"""What one ``cli_impact`` run does: which space, which sources, which pushes."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from jrn_dagster.domain.coverage import CoveredRange


class RunMode(StrEnum):
    EVENT = "event"  # launched for pushes (sensor, or a pasted CliImpactJobParams)
    CATCH_UP = "catch_up"  # launched with no params: bring the space up to every branch head


class SourceWork(BaseModel):
    """One source branch to analyse for the run's space."""

    model_config = ConfigDict(frozen=True)

    source_id: int
    source_name: str
    integration_id: int | None
    repo: str
    branch: str
    head_sha: str | None  # None: the branch head at clone time (catch-up)
    # Where the range starts when the coverage does not say: for a space with no coverage yet,
    # the source cursor (its coverage joins the other spaces'); else the push's `before`.
    event_base_sha: str | None
    covered: CoveredRange | None  # the space's binding cursor when the run was planned
    source_cursor_sha: str | None = None
    event_ids: list[int] = []  # the pushes the run is for (none: catch-up, or by hand)
    forced: bool = False  # one of them was a forced push

    @property
    def is_true(self) -> bool:
        return self.integration_id is not None

    @property
    def rewind(self) -> bool:
        """An older head is a deliberate rewind, not a push delivered late: a forced push newer
        than the coverage, or a catch-up to the branch head (the head is what the branch is)."""
        if self.head_sha is None:
            return True
        newest = max(self.event_ids, default=0)
        covered_event = self.covered.event_id if self.covered else None
        return self.forced and (covered_event is None or newest > covered_event)


class RunPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    mode: RunMode
    space_id: int
    space_slug: str
    bound_source_names: list[str]
    works: list[SourceWork]
    skip_reason: str | None = None
