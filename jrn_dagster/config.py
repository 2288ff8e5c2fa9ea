from dagster import Config
from pydantic import Field

from jrn_dagster.domain.steps import CliImpactJobParams


class CliImpactConfig(Config):
    """``CliImpactJobParams`` as run config, with the seed's JSON names, so the output of
    ``jrn-dagster match EVENT_ID --json`` can be pasted into the launchpad as it is.

    Leave ``sourceId`` empty (the default for UI launches and backfills) to catch the
    partition's space up on every true source bound to it instead.
    """

    sourceId: int | None = Field(default=None, description="FK to sources; empty: catch-up")  # noqa: N815
    integrationId: int | None = Field(default=None, description="integration of the source")  # noqa: N815
    eventJrn: str | None = Field(default=None, description="JRN of the push")  # noqa: N815
    headSha: str | None = Field(default=None, description="webhook `after`")  # noqa: N815
    baseSha: str | None = Field(  # noqa: N815
        default=None, description="webhook `before`, or the source cursor"
    )
    affectedSpaceIds: list[int] = Field(  # noqa: N815
        default_factory=list, description="every space the event fans out to"
    )

    def to_params(self) -> CliImpactJobParams | None:
        """None in catch-up mode; raises pydantic.ValidationError on inconsistent params."""
        if self.sourceId is None:
            return None
        return CliImpactJobParams.model_validate(self.model_dump())

    @classmethod
    def from_params(cls, params: CliImpactJobParams) -> dict[str, object]:
        """Run config for the ``clone`` op (None values left out)."""
        return {key: value for key, value in params.to_json_dict().items() if value is not None}
