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

    @property
    def idempotency_key(self) -> str:
        """``sourceId + eventJrn + headSha``: one source event, whatever delivery carried it."""
        return idempotency_key(self.source_id, self.event_jrn, self.head_sha)

    def to_json_dict(self) -> dict[str, object]:
        return self.model_dump(by_alias=True, mode="json")


def idempotency_key(source_id: int, event_jrn: str, head_sha: str | None) -> str:
    return f"{source_id}:{event_jrn}@{head_sha or '-'}"
