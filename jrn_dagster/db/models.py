"""The application's tables (docs/architecture.md). Schema changes go through alembic
(``jrn_dagster/db/migrations``)."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from jrn_dagster.db.types import BigIntId, JsonDocument, UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SHA_LENGTH = 64


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class IntegrationRow(Timestamps, Base):
    """Credentials for a git host. Only env var *names* are stored, never secrets."""

    __tablename__ = "integrations"
    __table_args__ = (
        CheckConstraint("kind IN ('token', 'github_app')", name="kind"),
        CheckConstraint(
            "(kind = 'token' AND token_env IS NOT NULL) OR (kind = 'github_app' AND "
            "app_id IS NOT NULL AND installation_id IS NOT NULL AND private_key_env IS NOT NULL)",
            name="credentials",
        ),
        Index("ix_integrations_host_status", "host", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    host: Mapped[str] = mapped_column(String(255), default="github.com")
    status: Mapped[str] = mapped_column(String(20), default="active")
    token_env: Mapped[str | None] = mapped_column(String(200))
    app_id: Mapped[int | None] = mapped_column(BigIntId)
    installation_id: Mapped[int | None] = mapped_column(BigIntId)
    private_key_env: Mapped[str | None] = mapped_column(String(200))


class SourceRow(Timestamps, Base):
    """A git repository known to the platform; ``integration_id IS NULL`` means virtual."""

    __tablename__ = "sources"
    __table_args__ = (
        # The matching query: true, enabled sources by case-folded coordinate.
        Index(
            "ix_sources_true_enabled_repo_key",
            "repo_key",
            postgresql_where=text("integration_id IS NOT NULL AND enabled"),
            sqlite_where=text("integration_id IS NOT NULL AND enabled"),
        ),
        Index("ix_sources_integration_id", "integration_id"),
        CheckConstraint("(repo IS NULL) = (repo_key IS NULL)", name="repo_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(20), default="git")
    repo: Mapped[str | None] = mapped_column(String(400))
    # Lower-cased ``repo``: GitHub owner and repo names are case-insensitive.
    repo_key: Mapped[str | None] = mapped_column(String(400))
    branch: Mapped[str | None] = mapped_column(String(255))
    integration_id: Mapped[int | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL")
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    cursors: Mapped[list["SourceCursorRow"]] = relationship(
        order_by="SourceCursorRow.branch", passive_deletes=True, lazy="selectin"
    )


class SourceCursorRow(Base):
    """Last fully processed head of a source, per branch (a source may follow every branch)."""

    __tablename__ = "source_cursors"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    branch: Mapped[str] = mapped_column(String(255), primary_key=True)
    head_sha: Mapped[str] = mapped_column(String(SHA_LENGTH))
    event_id: Mapped[int | None] = mapped_column(BigIntId)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SpaceRow(Timestamps, Base):
    __tablename__ = "spaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class BindingRow(Base):
    """``space_sources``: which spaces a source feeds."""

    __tablename__ = "space_sources"
    __table_args__ = (Index("ix_space_sources_source_id_enabled", "source_id", "enabled"),)

    space_id: Mapped[int] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    jrn_pattern: Mapped[str | None] = mapped_column(String(1024))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    space: Mapped[SpaceRow] = relationship(lazy="joined", innerjoin=True)
    source: Mapped[SourceRow] = relationship(lazy="joined", innerjoin=True)


class BindingCursorRow(Base):
    """What one space has covered of one source branch: commits reachable from ``head_sha``
    and not from ``covered_from_sha`` (NULL: from the start of that history)."""

    __tablename__ = "binding_cursors"
    __table_args__ = (
        ForeignKeyConstraint(
            ["space_id", "source_id"],
            ["space_sources.space_id", "space_sources.source_id"],
            ondelete="CASCADE",
            name="fk_binding_cursors_binding",
        ),
    )

    space_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch: Mapped[str] = mapped_column(String(255), primary_key=True)
    head_sha: Mapped[str] = mapped_column(String(SHA_LENGTH))
    covered_from_sha: Mapped[str | None] = mapped_column(String(SHA_LENGTH))
    event_id: Mapped[int | None] = mapped_column(BigIntId)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where the source cursor stands in this binding's chain (``space_ranges.chain_seq``).
    source_seq: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DocRow(Timestamps, Base):
    """A doc and what its frontmatter says, parsed once when the content is written
    (docs/attention-rules.md#stored-rules): ``rules_version`` is the version ``jrn``,
    ``rule_problems`` and the ``doc_rules`` rows were derived from (NULL or behind ``version``:
    not derived yet, done on the next read)."""

    __tablename__ = "docs"
    __table_args__ = (UniqueConstraint("space_id", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(1024))
    content: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_sha256: Mapped[str] = mapped_column(String(SHA_LENGTH))
    jrn: Mapped[str | None] = mapped_column(Text)
    rule_problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonDocument)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    rules_version: Mapped[int | None] = mapped_column(Integer)


class DocRuleRow(Base):
    """One valid attention rule of a doc at ``docs.rules_version``. ``match_key`` is the
    rule's literal path, or for a glob the literal directory every match lies under
    (``src/api/`` for ``src/api/**/*.py``, ``""`` for ``**/x``): a run fetches only the rules
    keyed by a changed path or one of its ancestor directories."""

    __tablename__ = "doc_rules"
    __table_args__ = (
        UniqueConstraint("doc_id", "rule_index"),
        Index("ix_doc_rules_space_id_match_key", "space_id", "match_key"),
        # Which docs name a source (paths_naming_sources): most rules name none.
        Index(
            "ix_doc_rules_space_id_source",
            "space_id",
            "source",
            postgresql_where=text("source IS NOT NULL"),
            sqlite_where=text("source IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_id: Mapped[int] = mapped_column(ForeignKey("docs.id", ondelete="CASCADE"))
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    rule_index: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(1024))
    source: Mapped[str | None] = mapped_column(Text)
    # JSON text, decoded only when not "[]": most rules have none, and decoding one JSON value
    # per row was the largest cost of loading 50,000 rules.
    keywords: Mapped[str] = mapped_column(Text, default="[]")
    match_key: Mapped[str] = mapped_column(String(1024))


class WebhookEventRow(Base):
    """A stored delivery. ``id`` only grows: it is the sensor's cursor.

    A push also keeps its normalised facts in columns (NULL for other events and for refs that
    are not branches), so that runs can ask which pushes a branch received without reading
    payloads: the events table is the ground truth of what was pushed.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_repo_key_branch_id", "repo_key", "branch", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(200), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    headers: Mapped[dict[str, str]] = mapped_column(JsonDocument, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    repo_key: Mapped[str | None] = mapped_column(String(400))
    branch: Mapped[str | None] = mapped_column(String(255))
    before_sha: Mapped[str | None] = mapped_column(String(SHA_LENGTH))
    after_sha: Mapped[str | None] = mapped_column(String(SHA_LENGTH))
    forced: Mapped[bool | None] = mapped_column(Boolean)
    installation_id: Mapped[int | None] = mapped_column(BigIntId)


class SpaceRangeRow(Base):
    """One range of a source branch that one space processes in one run: what it was compared
    with, its impact report, its changeset. Succeeded ranges are the links cursors move along
    (docs/cursors.md)."""

    __tablename__ = "space_ranges"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
        Index("ix_space_ranges_source_id_branch_status", "source_id", "branch", "status"),
        Index("ix_space_ranges_dagster_run_id", "dagster_run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    branch: Mapped[str] = mapped_column(String(255))
    head_sha: Mapped[str] = mapped_column(String(SHA_LENGTH))
    # What git diff compared the head with; NULL: every file of the head tree.
    base_sha: Mapped[str | None] = mapped_column(String(SHA_LENGTH))
    # Where the range starts in the branch's history; NULL: anywhere (a whole-tree range).
    link_from_sha: Mapped[str | None] = mapped_column(String(SHA_LENGTH))
    comparison: Mapped[str] = mapped_column(String(20))
    extension: Mapped[str] = mapped_column(String(20))
    # The push the run was for (a catch-up: the newest stored when it started).
    event_id: Mapped[int] = mapped_column(BigIntId, default=0)
    # Its place in the space's chain once applied to the binding cursor (docs/cursors.md).
    chain_seq: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="running")
    dagster_run_id: Mapped[str | None] = mapped_column(String(64))
    report: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    changeset_id: Mapped[int | None] = mapped_column(
        ForeignKey("changesets.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SpacePushRow(Base):
    """One push to a true source, as one space handled it: claimed by a run, processed by it,
    covered by another run's range, or failed. Written by runs and the failure sensor; the
    sensor never writes."""

    __tablename__ = "space_pushes"
    __table_args__ = (
        UniqueConstraint("event_id", "source_id", "space_id"),
        CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'skipped', 'covered', 'failed')",
            name="status",
        ),
        Index("ix_space_pushes_dagster_run_id", "dagster_run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("webhook_events.id", ondelete="CASCADE")
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    dagster_run_id: Mapped[str | None] = mapped_column(String(64))
    range_id: Mapped[int | None] = mapped_column(ForeignKey("space_ranges.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ChangesetRow(Base):
    """Proposals for human review. ``key`` makes them idempotent: one per run key (event runs)
    or per (space, source ranges) (catch-up runs), whatever re-executes the run."""

    __tablename__ = "changesets"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'empty', 'applied', 'rejected', 'superseded')", name="status"
        ),
        Index("ix_changesets_space_id_status", "space_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(2000), unique=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    summary: Mapped[str] = mapped_column(Text, default="")
    dagster_run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The commits of the run's ranges, per source (``SourceCommits`` as JSON; bounded). NULL
    # on changesets written before they were stored.
    commits: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonDocument)
    # Set with status 'superseded': the newer changeset that took this one's docs over.
    superseded_by: Mapped[int | None] = mapped_column(
        ForeignKey("changesets.id", ondelete="SET NULL")
    )

    docs: Mapped[list["ChangesetDocRow"]] = relationship(
        order_by="ChangesetDocRow.path", passive_deletes=True, lazy="selectin"
    )


class ChangesetDocRow(Base):
    __tablename__ = "changeset_docs"

    changeset_id: Mapped[int] = mapped_column(
        ForeignKey("changesets.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    # NULL: the proposal creates the doc.
    base_version: Mapped[int | None] = mapped_column(Integer)
    proposed_content: Mapped[str] = mapped_column(Text)
    # Why the doc was proposed: its impact evidence (``Evidence`` as JSON; bounded per doc).
    evidence: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonDocument)
    # The ranges the proposal covers (domain.covers.CoveredChange, camelCase JSON list); NULL
    # for proposals recorded before they were.
    covers: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonDocument)


class GitHubInstallationRow(Base):
    """What GitHub's lifecycle deliveries said about one App installation (installation ids
    are unique per host). Written where the delivery is stored, in its transaction."""

    __tablename__ = "github_installations"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    installation_id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    app_id: Mapped[int | None] = mapped_column(BigIntId)
    account: Mapped[str | None] = mapped_column(String(200))
    repository_selection: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    # The stored delivery that last changed this row (``webhook_events.id``).
    event_id: Mapped[int] = mapped_column(BigIntId)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class GitHubInstallationRepositoryRow(Base):
    """A repository an installation was said to cover or to have lost. Only repositories that
    lifecycle deliveries named have a row: an installation covers a repository unless a row
    says it lost it (``covered`` false), which the matching query checks."""

    __tablename__ = "github_installation_repositories"
    __table_args__ = (
        ForeignKeyConstraint(
            ["host", "installation_id"],
            ["github_installations.host", "github_installations.installation_id"],
            ondelete="CASCADE",
            name="fk_github_installation_repositories_installation",
        ),
    )

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    installation_id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    # host/owner/name lower-cased, as ``sources.repo_key``.
    repo_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(400))
    repository_id: Mapped[int | None] = mapped_column(BigIntId)
    covered: Mapped[bool] = mapped_column(Boolean)
    event_id: Mapped[int] = mapped_column(BigIntId)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
