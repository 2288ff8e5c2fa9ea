"""What one ``cli_impact`` run does: which space, which sources, which commit ranges."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class RunMode(StrEnum):
    EVENT = "event"  # launched for one push (sensor, or a pasted CliImpactJobParams)
    CATCH_UP = "catch_up"  # launched with no params: bring the space up to every branch head


class CoveredRange(BaseModel):
    """What a space has already processed of one source branch (its binding cursor)."""

    model_config = ConfigDict(frozen=True)

    head_sha: str
    covered_from_sha: str | None


class SourceWork(BaseModel):
    """One source branch to analyse for the run's space."""

    model_config = ConfigDict(frozen=True)

    source_id: int
    source_name: str
    integration_id: int | None
    repo: str
    branch: str
    head_sha: str | None  # None: the branch head at clone time (catch-up)
    event_base_sha: str | None
    covered: CoveredRange | None
    idempotency_key: str | None
    event_id: int | None
    event_jrn: str | None
    affected_space_ids: list[int]  # the event's whole fan-out (catch-up: the run's space)
    forced: bool = False

    @property
    def is_true(self) -> bool:
        return self.integration_id is not None


class RunPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    mode: RunMode
    space_id: int
    space_slug: str
    bound_source_names: list[str]
    works: list[SourceWork]
    skip_reason: str | None = None
