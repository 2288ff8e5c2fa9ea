"""Read models the repositories return. Ops and the CLI see these, never ORM rows."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from jrn_dagster.domain.base import Frozen
from jrn_dagster.domain.commits import SourceCommits
from jrn_dagster.domain.coverage import Comparison, Extension
from jrn_dagster.domain.covers import CoveredChange
from jrn_dagster.domain.impact import Evidence
from jrn_dagster.domain.refs import is_zero_sha


class Record(Frozen):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class IntegrationKind(StrEnum):
    TOKEN = "token"  # noqa: S105 - the kind, not a secret
    GITHUB_APP = "github_app"


class IntegrationStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class Integration(Record):
    id: int
    name: str
    kind: IntegrationKind
    host: str
    status: IntegrationStatus
    token_env: str | None
    app_id: int | None
    installation_id: int | None
    private_key_env: str | None
    created_at: datetime
    updated_at: datetime


class SourceCursor(Record):
    source_id: int
    branch: str
    head_sha: str
    event_id: int | None
    forced: bool
    updated_at: datetime


class Source(Record):
    id: int
    name: str
    type: str
    repo: str | None
    branch: str | None
    integration_id: int | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    cursors: list[SourceCursor] = Field(default_factory=list)

    @property
    def is_true(self) -> bool:
        """A true source is linked to an integration; a virtual one is local-only."""
        return self.integration_id is not None

    @property
    def kind(self) -> str:
        return "true" if self.is_true else "virtual"


class Binding(Record):
    space_id: int
    source_id: int
    space_slug: str
    source_name: str
    jrn_pattern: str | None
    enabled: bool
    created_at: datetime


class Space(Record):
    id: int
    slug: str
    name: str
    archived: bool
    created_at: datetime
    updated_at: datetime
    bindings: list[Binding] = Field(default_factory=list)


class Doc(Record):
    id: int
    space_id: int
    path: str
    content: str
    version: int
    created_at: datetime
    updated_at: datetime


class DocVersion(Record):
    """A doc's version and content hash, read without its content."""

    path: str
    version: int
    content_sha256: str


class WebhookEvent(Record):
    id: int
    delivery_id: str
    event_type: str
    payload: dict[str, Any]
    headers: dict[str, str]
    received_at: datetime


class Push(Record):
    """The facts of one stored push that coverage needs (``webhook_events`` columns)."""

    event_id: int
    repo_key: str
    branch: str
    before_sha: str
    after_sha: str
    forced: bool
    received_at: datetime

    @property
    def created_branch(self) -> bool:
        return is_zero_sha(self.before_sha)

    @property
    def deleted_branch(self) -> bool:
        return is_zero_sha(self.after_sha)


class SpacePushStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # its own run processed it
    SKIPPED = "skipped"  # its own run found it already covered (or no longer on the branch)
    COVERED = "covered"  # another run's range included it
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (SpacePushStatus.SUCCEEDED, SpacePushStatus.SKIPPED, SpacePushStatus.COVERED)


class SpacePush(Record):
    """One push to a true source, as one space handled it."""

    id: int
    event_id: int
    source_id: int
    space_id: int
    status: SpacePushStatus
    dagster_run_id: str | None
    range_id: int | None
    error: str | None
    updated_at: datetime


class SpaceRangeStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class SpaceRange(Record):
    """One range of a source branch one space processed (or is processing) in one run."""

    id: int
    space_id: int
    source_id: int
    branch: str
    head_sha: str
    base_sha: str | None
    link_from_sha: str | None
    comparison: Comparison
    extension: Extension
    event_id: int
    chain_seq: int | None
    status: SpaceRangeStatus
    dagster_run_id: str | None
    report: dict[str, Any] | None
    changeset_id: int | None
    error: str | None
    created_at: datetime
    updated_at: datetime


class ChangesetStatus(StrEnum):
    OPEN = "open"
    EMPTY = "empty"  # the run had nothing to propose: recorded, so re-execution does not retry
    APPLIED = "applied"
    REJECTED = "rejected"
    # A newer proposal for one of its docs took it over (``superseded_by``); docs/decisions.md
    SUPERSEDED = "superseded"


def _none_is_empty(value: Any) -> Any:
    # Rows written before evidence, commits and covers were stored hold NULL.
    return [] if value is None else value


class ChangesetDoc(Record):
    path: str
    base_version: int | None  # None: the proposal creates the doc
    proposed_content: str
    evidence: list[Evidence] = Field(default_factory=list)  # why the doc was proposed
    # The ranges (per source) the proposal covers, its predecessors' included.
    covers: list[CoveredChange] = Field(default_factory=list)

    _empty_when_null = field_validator("evidence", "covers", mode="before")(_none_is_empty)


class Changeset(Record):
    id: int
    key: str
    space_id: int
    status: ChangesetStatus
    summary: str
    dagster_run_id: str | None
    created_at: datetime
    decided_at: datetime | None
    docs: list[ChangesetDoc] = Field(default_factory=list)
    commits: list[SourceCommits] = Field(default_factory=list)  # of the run's ranges
    superseded_by: int | None = None  # the changeset that took this one over

    _commits = field_validator("commits", mode="before")(_none_is_empty)
