"""Stored rules found by the source they name

``DocRepository.paths_naming_sources`` asks which docs of a space have rules naming a source
(a bound source outside the run): with only the ``(space_id, match_key)`` index that read every
rule row of the space. A partial index on ``(space_id, source)``, over the rules that name a
source (most do not), makes it a lookup.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 23:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_doc_rules_space_id_source",
        "doc_rules",
        ["space_id", "source"],
        unique=False,
        postgresql_where=sa.text("source IS NOT NULL"),
        sqlite_where=sa.text("source IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_doc_rules_space_id_source", table_name="doc_rules")
