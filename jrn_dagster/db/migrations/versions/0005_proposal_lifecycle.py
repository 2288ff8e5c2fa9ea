"""Proposal lifecycle: a changeset can be superseded by a newer one, and each proposed doc
records the ranges it covers

Additive: a status value ('superseded'), a nullable ``changesets.superseded_by`` and a nullable
``changeset_docs.covers``. Existing changesets keep their status; their docs cover nothing
recorded (docs/decisions.md, "One open proposal per doc").

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
OLD_STATUSES = "status IN ('open', 'empty', 'applied', 'rejected')"
NEW_STATUSES = "status IN ('open', 'empty', 'applied', 'rejected', 'superseded')"


def upgrade() -> None:
    with op.batch_alter_table("changesets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("superseded_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_changesets_superseded_by_changesets"),
            "changesets",
            ["superseded_by"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.drop_constraint(batch_op.f("ck_changesets_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_changesets_status"), NEW_STATUSES)
    with op.batch_alter_table("changeset_docs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("covers", JSON_DOCUMENT, nullable=True))


def downgrade() -> None:
    op.execute("UPDATE changesets SET status = 'rejected' WHERE status = 'superseded'")
    with op.batch_alter_table("changeset_docs", schema=None) as batch_op:
        batch_op.drop_column("covers")
    with op.batch_alter_table("changesets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_changesets_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_changesets_status"), OLD_STATUSES)
        batch_op.drop_constraint(
            batch_op.f("fk_changesets_superseded_by_changesets"), type_="foreignkey"
        )
        batch_op.drop_column("superseded_by")
