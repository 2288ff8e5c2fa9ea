"""Attention rules parsed once, when a doc is written

``docs`` gains the content's sha256 (what ``sync_docs`` records without reading content) and
what the frontmatter says (``jrn``, ``rule_problems``, ``problem_count``, ``rules_version``);
``doc_rules`` holds each valid rule, keyed for lookup by changed path
(docs/attention-rules.md#stored-rules).

Existing docs get their sha256 here (hashing is cheap); their rules are left underived
(``rules_version`` NULL): the YAML parser is application code that changes between releases,
so a migration does not freeze today's copy of it. The first impact step or rules replay of a
space derives them, once (docs/attention-rules.md#stored-rules).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 19:20:00
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_BATCH = 500


def _fill_content_sha256() -> None:
    connection = op.get_bind()
    docs = sa.table(
        "docs",
        sa.column("id", sa.Integer()),
        sa.column("content", sa.Text()),
        sa.column("content_sha256", sa.String()),
    )
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(docs.c.id, docs.c.content)
            .where(docs.c.id > last_id)
            .order_by(docs.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for doc_id, content in rows:
            digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
            connection.execute(
                sa.update(docs).where(docs.c.id == doc_id).values(content_sha256=digest)
            )
        last_id = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("docs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("jrn", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("rule_problems", JSON_DOCUMENT, nullable=True))
        batch_op.add_column(
            sa.Column("problem_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("rules_version", sa.Integer(), nullable=True))
    _fill_content_sha256()
    with op.batch_alter_table("docs", schema=None) as batch_op:
        batch_op.alter_column("content_sha256", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("problem_count", existing_type=sa.Integer(), server_default=None)
    op.create_table(
        "doc_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("rule_index", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("match_key", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["doc_id"], ["docs.id"], name=op.f("fk_doc_rules_doc_id_docs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_doc_rules_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doc_rules")),
        sa.UniqueConstraint("doc_id", "rule_index", name=op.f("uq_doc_rules_doc_id_rule_index")),
    )
    op.create_index(
        "ix_doc_rules_space_id_match_key", "doc_rules", ["space_id", "match_key"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_doc_rules_space_id_match_key", table_name="doc_rules")
    op.drop_table("doc_rules")
    with op.batch_alter_table("docs", schema=None) as batch_op:
        batch_op.drop_column("rules_version")
        batch_op.drop_column("problem_count")
        batch_op.drop_column("rule_problems")
        batch_op.drop_column("jrn")
        batch_op.drop_column("content_sha256")
