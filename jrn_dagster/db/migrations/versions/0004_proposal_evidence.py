"""Evidence and commits stored with each changeset

Two nullable JSON columns: ``changeset_docs.evidence`` (why each doc was proposed) and
``changesets.commits`` (the commits of the run's ranges). Additive: existing rows read as
"none recorded", and no other column or table changes, so this revision can follow any other.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("changesets") as batch:
        batch.add_column(sa.Column("commits", JSON_DOCUMENT, nullable=True))
    with op.batch_alter_table("changeset_docs") as batch:
        batch.add_column(sa.Column("evidence", JSON_DOCUMENT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("changeset_docs") as batch:
        batch.drop_column("evidence")
    with op.batch_alter_table("changesets") as batch:
        batch.drop_column("commits")
