"""coverage: push facts on events, space ranges and space pushes instead of impact jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 16:00:00

Runs used to be recorded per (source event, space) under an idempotency key of the pushed head,
which made a rewind to a head processed before look "already done". Now a run records the range
it processed (``space_ranges``) and the pushes it claimed or covered (``space_pushes``), and
pushes keep their normalised facts in ``webhook_events`` so runs can ask which pushes a branch
received (docs/cursors.md). Existing records are carried over.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from jrn_dagster.domain.errors import InvalidInputError
from jrn_dagster.domain.push import normalize_push

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_COMPARISON_OF_ORIGIN = {
    "binding_cursor": "binding_cursor",
    "event": "event_base",
    "none": "whole_tree",
}


def upgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repo_key", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("branch", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("before_sha", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("after_sha", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("forced", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("installation_id", BIG_ID, nullable=True))
        batch_op.create_index(
            "ix_webhook_events_repo_key_branch_id", ["repo_key", "branch", "id"], unique=False
        )
    with op.batch_alter_table("binding_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_seq", sa.Integer(), nullable=True))
    op.create_table(
        "space_ranges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("base_sha", sa.String(length=64), nullable=True),
        sa.Column("link_from_sha", sa.String(length=64), nullable=True),
        sa.Column("comparison", sa.String(length=20), nullable=False),
        sa.Column("extension", sa.String(length=20), nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("chain_seq", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("report", JSON_DOCUMENT, nullable=True),
        sa.Column("changeset_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed')", name=op.f("ck_space_ranges_status")
        ),
        sa.ForeignKeyConstraint(
            ["changeset_id"],
            ["changesets.id"],
            name=op.f("fk_space_ranges_changeset_id_changesets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_space_ranges_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_space_ranges_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_space_ranges")),
    )
    with op.batch_alter_table("space_ranges", schema=None) as batch_op:
        batch_op.create_index("ix_space_ranges_dagster_run_id", ["dagster_run_id"], unique=False)
        batch_op.create_index(
            "ix_space_ranges_source_id_branch_status",
            ["source_id", "branch", "status"],
            unique=False,
        )
    op.create_table(
        "space_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", BIG_ID, nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("space_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("range_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'skipped', 'covered', 'failed')",
            name=op.f("ck_space_pushes_status"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_events.id"],
            name=op.f("fk_space_pushes_event_id_webhook_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["range_id"],
            ["space_ranges.id"],
            name=op.f("fk_space_pushes_range_id_space_ranges"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_space_pushes_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_space_pushes_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_space_pushes")),
        sa.UniqueConstraint(
            "event_id",
            "source_id",
            "space_id",
            name=op.f("uq_space_pushes_event_id_source_id_space_id"),
        ),
    )
    with op.batch_alter_table("space_pushes", schema=None) as batch_op:
        batch_op.create_index("ix_space_pushes_dagster_run_id", ["dagster_run_id"], unique=False)

    connection = op.get_bind()
    _backfill_push_facts(connection)
    _carry_over_records(connection)

    with op.batch_alter_table("space_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_space_runs_dagster_run_id")
    op.drop_table("space_runs")
    with op.batch_alter_table("impact_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_impact_jobs_source_id_branch_event_id")
    op.drop_table("impact_jobs")


def _backfill_push_facts(connection: sa.Connection) -> None:
    events = sa.table(
        "webhook_events",
        sa.column("id", BIG_ID),
        sa.column("event_type", sa.String()),
        sa.column("payload", JSON_DOCUMENT),
        sa.column("repo_key", sa.String()),
        sa.column("branch", sa.String()),
        sa.column("before_sha", sa.String()),
        sa.column("after_sha", sa.String()),
        sa.column("forced", sa.Boolean()),
        sa.column("installation_id", BIG_ID),
    )
    rows = connection.execute(
        sa.select(events.c.id, events.c.payload).where(events.c.event_type == "push")
    ).all()
    for event_id, payload in rows:
        try:
            push = normalize_push(payload)
        except InvalidInputError:
            continue  # the sensor reports it as invalid, as before
        connection.execute(
            sa.update(events)
            .where(events.c.id == event_id)
            .values(
                repo_key=push.coordinate.key,
                branch=push.branch,
                before_sha=push.before,
                after_sha=push.after,
                forced=push.forced,
                installation_id=push.installation_id,
            )
        )


def _carry_over_records(connection: sa.Connection) -> None:
    """Each (source event, space) record becomes a range (what it processed, its report and
    changeset) and, for event runs, a space push pointing at it."""
    jobs = sa.table(
        "impact_jobs",
        sa.column("id", sa.Integer()),
        sa.column("source_id", sa.Integer()),
        sa.column("event_id", BIG_ID),
        sa.column("branch", sa.String()),
        sa.column("head_sha", sa.String()),
    )
    runs = sa.table(
        "space_runs",
        *(
            sa.column(name)
            for name in [
                "id",
                "job_id",
                "space_id",
                "status",
                "dagster_run_id",
                "base_sha_used",
                "base_origin",
                "changeset_id",
                "error",
                "created_at",
                "updated_at",
            ]
        ),
        sa.column("report", JSON_DOCUMENT),
    )
    events = sa.table("webhook_events", sa.column("id", BIG_ID))
    ranges = sa.table(
        "space_ranges",
        *(
            sa.column(name)
            for name in [
                "id",
                "space_id",
                "source_id",
                "branch",
                "head_sha",
                "base_sha",
                "link_from_sha",
                "comparison",
                "extension",
                "event_id",
                "status",
                "dagster_run_id",
                "changeset_id",
                "error",
                "created_at",
                "updated_at",
            ]
        ),
        sa.column("report", JSON_DOCUMENT),
    )
    pushes = sa.table(
        "space_pushes",
        *(
            sa.column(name)
            for name in [
                "event_id",
                "source_id",
                "space_id",
                "status",
                "dagster_run_id",
                "range_id",
                "error",
                "created_at",
                "updated_at",
            ]
        ),
    )
    stored_events = set(connection.scalars(sa.select(events.c.id)))
    records = connection.execute(
        sa.select(runs, jobs.c.source_id, jobs.c.event_id, jobs.c.branch, jobs.c.head_sha).join(
            jobs, jobs.c.id == runs.c.job_id
        )
    ).mappings()
    for record in records:
        range_id = _carried_range(connection, ranges, record)
        if record["event_id"] is None or record["event_id"] not in stored_events:
            continue
        connection.execute(
            sa.insert(pushes).values(
                event_id=record["event_id"],
                source_id=record["source_id"],
                space_id=record["space_id"],
                status=record["status"],
                dagster_run_id=record["dagster_run_id"],
                range_id=range_id,
                error=record["error"],
                created_at=record["created_at"],
                updated_at=record["updated_at"],
            )
        )


def _carried_range(
    connection: sa.Connection, ranges: sa.TableClause, record: sa.RowMapping
) -> int | None:
    if record["status"] not in ("succeeded", "failed", "running") or not record["head_sha"]:
        return None
    values: dict[str, Any] = {
        "space_id": record["space_id"],
        "source_id": record["source_id"],
        "branch": record["branch"],
        "head_sha": record["head_sha"],
        "base_sha": record["base_sha_used"],
        "link_from_sha": record["base_sha_used"],
        "comparison": _COMPARISON_OF_ORIGIN.get(record["base_origin"] or "", "whole_tree"),
        "extension": "none",
        "event_id": record["event_id"] or 0,
        "status": "succeeded" if record["status"] == "succeeded" else "failed",
        "dagster_run_id": record["dagster_run_id"],
        "report": record["report"],
        "changeset_id": record["changeset_id"],
        "error": record["error"],
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }
    return connection.execute(sa.insert(ranges).values(**values).returning(ranges.c.id)).scalar()


def downgrade() -> None:
    raise NotImplementedError("the coverage records cannot be turned back into impact jobs")
