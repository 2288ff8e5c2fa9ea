"""The payload contract of a ``cli_impact`` run (the seed's ``CliImpactJobParams``)."""

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from jrn_dagster.domain.refs import is_sha


class CliImpactJobParams(BaseModel):
    """One matched true source for one push; Python uses snake_case, JSON the seed's camelCase."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )

    source_id: int = Field(gt=0, description="FK to sources")
    integration_id: int = Field(gt=0)
    event_jrn: str = Field(min_length=1)
    head_sha: str | None = Field(default=None, description="webhook `after`")
    base_sha: str | None = Field(
        default=None,
        description="webhook `before`, or the source cursor when `before` is zero or forced",
    )
    affected_space_ids: list[int] = Field(min_length=1, description="sorted, unique")

    @field_validator("head_sha", "base_sha")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not is_sha(value):
            raise ValueError(f"{value!r} is not a 40 or 64 hex digit commit SHA")
        return value

    @field_validator("affected_space_ids")
    @classmethod
    def _sorted_unique(cls, value: list[int]) -> list[int]:
        return sorted(set(value))

    def to_json_dict(self) -> dict[str, object]:
        return self.model_dump(by_alias=True, mode="json")


def run_key(
    source_id: int, event_ids: list[int], space_slug: str, *, head_sha: str | None = None
) -> str:
    """The key of the run that brings one space up to date with pushes of one source: the work
    itself (docs/cursors.md, "Run identity"). A redelivery, a re-evaluated tick or a reset sensor
    cursor reads the same stored pushes, so the same key; a rewind, or the same head pushed
    again, is a new push with a key of its own. Without stored pushes (params launched by hand):
    the head."""
    if not event_ids:
        return f"{source_id}@{head_sha or '-'}|{space_slug}"
    first, last = min(event_ids), max(event_ids)
    pushes = str(first) if first == last else f"{first}-{last}"
    return f"{source_id}@{pushes}|{space_slug}"
