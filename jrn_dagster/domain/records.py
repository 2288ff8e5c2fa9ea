"""Read models the repositories return. Ops and the CLI see these, never ORM rows."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
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
    cursors: list[SourceCursor] = []

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
    bindings: list[Binding] = []


class Doc(Record):
    id: int
    space_id: int
    path: str
    content: str
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookEvent(Record):
    id: int
    delivery_id: str
    event_type: str
    payload: dict[str, Any]
    headers: dict[str, str]
    received_at: datetime


class SpaceRunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (SpaceRunStatus.SUCCEEDED, SpaceRunStatus.SKIPPED)


class SpaceRun(Record):
    """One (source event, space), joined with its source event."""

    id: int
    job_id: int
    space_id: int
    status: SpaceRunStatus
    dagster_run_id: str | None
    base_sha_used: str | None
    base_origin: str | None
    report: dict[str, Any] | None
    changeset_id: int | None
    error: str | None
    idempotency_key: str
    source_id: int
    event_id: int | None
    branch: str
    head_sha: str | None
    updated_at: datetime


class ChangesetStatus(StrEnum):
    OPEN = "open"
    EMPTY = "empty"  # the run had nothing to propose: recorded, so re-execution does not retry
    APPLIED = "applied"
    REJECTED = "rejected"


class ChangesetDoc(Record):
    path: str
    base_version: int | None  # None: the proposal creates the doc
    proposed_content: str


class Changeset(Record):
    id: int
    key: str
    space_id: int
    status: ChangesetStatus
    summary: str
    dagster_run_id: str | None
    created_at: datetime
    decided_at: datetime | None
    docs: list[ChangesetDoc] = []
