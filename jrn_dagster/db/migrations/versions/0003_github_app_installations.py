"""GitHub App installations and the repositories they cover or lost

Two new tables, written where lifecycle deliveries (``installation``,
``installation_repositories``) are stored. They touch no existing table, so this revision
can follow any other.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 15:45:05.359864
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "github_installations",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("installation_id", big_id, nullable=False),
        sa.Column("app_id", big_id, nullable=True),
        sa.Column("account", sa.String(length=200), nullable=True),
        sa.Column("repository_selection", sa.String(length=20), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("event_id", big_id, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("host", "installation_id", name=op.f("pk_github_installations")),
    )
    op.create_table(
        "github_installation_repositories",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("installation_id", big_id, nullable=False),
        sa.Column("repo_key", sa.String(length=400), nullable=False),
        sa.Column("full_name", sa.String(length=400), nullable=False),
        sa.Column("repository_id", big_id, nullable=True),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.Column("event_id", big_id, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["host", "installation_id"],
            ["github_installations.host", "github_installations.installation_id"],
            name="fk_github_installation_repositories_installation",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "host",
            "installation_id",
            "repo_key",
            name=op.f("pk_github_installation_repositories"),
        ),
    )


def downgrade() -> None:
    op.drop_table("github_installation_repositories")
    op.drop_table("github_installations")
