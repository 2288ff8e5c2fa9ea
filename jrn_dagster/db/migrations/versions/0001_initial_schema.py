"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 19:38:36.331879
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("token_env", sa.String(length=200), nullable=True),
        sa.Column("app_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "installation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("private_key_env", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'token' AND token_env IS NOT NULL) OR (kind = 'github_app' AND app_id IS NOT NULL AND installation_id IS NOT NULL AND private_key_env IS NOT NULL)",
            name=op.f("ck_integrations_credentials"),
        ),
        sa.CheckConstraint("kind IN ('token', 'github_app')", name=op.f("ck_integrations_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
        sa.UniqueConstraint("name", name=op.f("uq_integrations_name")),
    )
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.create_index("ix_integrations_host_status", ["host", "status"], unique=False)

    op.create_table(
        "spaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spaces")),
        sa.UniqueConstraint("slug", name=op.f("uq_spaces_slug")),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "headers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_webhook_events_delivery_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "changesets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=2000), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'empty', 'applied', 'rejected')", name=op.f("ck_changesets_status")
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_changesets_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changesets")),
        sa.UniqueConstraint("key", name=op.f("uq_changesets_key")),
    )
    with op.batch_alter_table("changesets", schema=None) as batch_op:
        batch_op.create_index("ix_changesets_space_id_status", ["space_id", "status"], unique=False)

    op.create_table(
        "docs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], name=op.f("fk_docs_space_id_spaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_docs")),
        sa.UniqueConstraint("space_id", "path", name=op.f("uq_docs_space_id_path")),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("repo", sa.String(length=400), nullable=True),
        sa.Column("repo_key", sa.String(length=400), nullable=True),
        sa.Column("branch", sa.String(length=255), nullable=True),
        sa.Column("integration_id", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(repo IS NULL) = (repo_key IS NULL)", name=op.f("ck_sources_repo_key")),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_sources_integration_id_integrations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
    )
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.create_index("ix_sources_integration_id", ["integration_id"], unique=False)
        batch_op.create_index(
            "ix_sources_true_enabled_repo_key",
            ["repo_key"],
            unique=False,
            postgresql_where=sa.text("integration_id IS NOT NULL AND enabled"),
            sqlite_where=sa.text("integration_id IS NOT NULL AND enabled"),
        )

    op.create_table(
        "changeset_docs",
        sa.Column("changeset_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("proposed_content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["changeset_id"],
            ["changesets.id"],
            name=op.f("fk_changeset_docs_changeset_id_changesets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("changeset_id", "path", name=op.f("pk_changeset_docs")),
    )
    op.create_table(
        "impact_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=1600), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("event_jrn", sa.String(length=1200), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=True),
        sa.Column("base_sha", sa.String(length=64), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column(
            "affected_space_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_impact_jobs_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_impact_jobs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_impact_jobs_idempotency_key")),
    )
    with op.batch_alter_table("impact_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_impact_jobs_source_id_branch_event_id",
            ["source_id", "branch", "event_id"],
            unique=False,
        )

    op.create_table(
        "source_cursors",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_source_cursors_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "branch", name=op.f("pk_source_cursors")),
    )
    op.create_table(
        "space_sources",
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("jrn_pattern", sa.String(length=1024), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_space_sources_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_space_sources_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("space_id", "source_id", name=op.f("pk_space_sources")),
    )
    with op.batch_alter_table("space_sources", schema=None) as batch_op:
        batch_op.create_index(
            "ix_space_sources_source_id_enabled", ["source_id", "enabled"], unique=False
        )

    op.create_table(
        "binding_cursors",
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("covered_from_sha", sa.String(length=64), nullable=True),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["space_id", "source_id"],
            ["space_sources.space_id", "space_sources.source_id"],
            name="fk_binding_cursors_binding",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("space_id", "source_id", "branch", name=op.f("pk_binding_cursors")),
    )
    op.create_table(
        "space_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("base_sha_used", sa.String(length=64), nullable=True),
        sa.Column("base_origin", sa.String(length=40), nullable=True),
        sa.Column(
            "report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("changeset_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'skipped', 'failed')",
            name=op.f("ck_space_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["changeset_id"],
            ["changesets.id"],
            name=op.f("fk_space_runs_changeset_id_changesets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["impact_jobs.id"],
            name=op.f("fk_space_runs_job_id_impact_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_space_runs_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_space_runs")),
        sa.UniqueConstraint("job_id", "space_id", name=op.f("uq_space_runs_job_id_space_id")),
    )
    with op.batch_alter_table("space_runs", schema=None) as batch_op:
        batch_op.create_index("ix_space_runs_dagster_run_id", ["dagster_run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("space_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_space_runs_dagster_run_id")

    op.drop_table("space_runs")
    op.drop_table("binding_cursors")
    with op.batch_alter_table("space_sources", schema=None) as batch_op:
        batch_op.drop_index("ix_space_sources_source_id_enabled")

    op.drop_table("space_sources")
    op.drop_table("source_cursors")
    with op.batch_alter_table("impact_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_impact_jobs_source_id_branch_event_id")

    op.drop_table("impact_jobs")
    op.drop_table("changeset_docs")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_sources_true_enabled_repo_key",
            postgresql_where=sa.text("integration_id IS NOT NULL AND enabled"),
            sqlite_where=sa.text("integration_id IS NOT NULL AND enabled"),
        )
        batch_op.drop_index("ix_sources_integration_id")

    op.drop_table("sources")
    op.drop_table("docs")
    with op.batch_alter_table("changesets", schema=None) as batch_op:
        batch_op.drop_index("ix_changesets_space_id_status")

    op.drop_table("changesets")
    op.drop_table("webhook_events")
    op.drop_table("spaces")
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.drop_index("ix_integrations_host_status")

    op.drop_table("integrations")
