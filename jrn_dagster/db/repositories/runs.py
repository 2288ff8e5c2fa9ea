"""Run-written records: one row per source event (impact job), one per (event, space)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from jrn_dagster.db.models import ImpactJobRow, SpaceRow, SpaceRunRow
from jrn_dagster.db.upsert import insert_ignoring_conflicts
from jrn_dagster.domain.cursors import DONE_STATUSES, EventProgress
from jrn_dagster.domain.errors import NotFoundError
from jrn_dagster.domain.records import SpaceRun, SpaceRunStatus


class RunRecordRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def ensure_job(
        self,
        *,
        idempotency_key: str,
        source_id: int,
        integration_id: int,
        event_id: int | None,
        event_jrn: str,
        branch: str,
        head_sha: str | None,
        base_sha: str | None,
        forced: bool,
        affected_space_ids: Sequence[int],
    ) -> int:
        """The job's id; created by whichever of its runs gets here first. A job a catch-up run
        created for the same head is adopted by the event (event id, fan-out, base, forced)."""
        self._session.execute(
            insert_ignoring_conflicts(
                self._session,
                ImpactJobRow,
                ["idempotency_key"],
                idempotency_key=idempotency_key,
                source_id=source_id,
                integration_id=integration_id,
                event_id=event_id,
                event_jrn=event_jrn,
                branch=branch,
                head_sha=head_sha,
                base_sha=base_sha,
                forced=forced,
                affected_space_ids=sorted(set(affected_space_ids)),
            )
        )
        row = self._session.scalar(
            select(ImpactJobRow).where(ImpactJobRow.idempotency_key == idempotency_key)
        )
        assert row is not None  # noqa: S101 - inserted above or by a concurrent run
        if row.event_id is None and event_id is not None:
            row.event_id = event_id
            row.affected_space_ids = sorted(set(affected_space_ids))
            row.base_sha = base_sha
            row.forced = forced
            self._session.flush()
        return row.id

    def start(self, job_id: int, space_id: int, dagster_run_id: str) -> tuple[SpaceRun, bool]:
        """Claim (job, space) for a run. Returns the record and whether it was already done
        (succeeded or skipped), in which case it is left untouched."""
        self._ensure_record(job_id, space_id)
        row = self._row(job_id, space_id)
        if SpaceRunStatus(row.status).done:
            return self._record(row), True
        row.status = SpaceRunStatus.RUNNING.value
        row.dagster_run_id = dagster_run_id
        row.error = None
        self._session.flush()
        return self._record(row), False

    def get(self, space_run_id: int) -> SpaceRun:
        row = self._session.get(SpaceRunRow, space_run_id)
        if row is None:
            raise NotFoundError(f"space run {space_run_id} does not exist")
        return self._record(row)

    def by_dagster_run(self, dagster_run_id: str) -> list[SpaceRun]:
        rows = self._session.scalars(
            select(SpaceRunRow)
            .where(SpaceRunRow.dagster_run_id == dagster_run_id)
            .order_by(SpaceRunRow.id)
        )
        return [self._record(row) for row in rows]

    def record_outcome(
        self,
        space_run_id: int,
        *,
        status: SpaceRunStatus | None = None,
        base_sha_used: str | None = None,
        base_origin: str | None = None,
        report: dict[str, Any] | None = None,
        changeset_id: int | None = None,
        error: str | None = None,
        dagster_run_id: str | None = None,
    ) -> SpaceRun:
        """Set the given fields (None leaves a field as it is)."""
        row = self._session.get(SpaceRunRow, space_run_id)
        if row is None:
            raise NotFoundError(f"space run {space_run_id} does not exist")
        updates = {
            "status": status.value if status else None,
            "base_sha_used": base_sha_used,
            "base_origin": base_origin,
            "report": report,
            "changeset_id": changeset_id,
            "error": error,
            "dagster_run_id": dagster_run_id,
        }
        for name, value in updates.items():
            if value is not None:
                setattr(row, name, value)
        self._session.flush()
        return self._record(row)

    def fail_unfinished(self, dagster_run_id: str, error: str) -> list[SpaceRun]:
        """Mark what a failed/cancelled run left running as failed (done records stay)."""
        rows = self._session.scalars(
            select(SpaceRunRow).where(
                SpaceRunRow.dagster_run_id == dagster_run_id,
                SpaceRunRow.status.in_(
                    [SpaceRunStatus.PENDING.value, SpaceRunStatus.RUNNING.value]
                ),
            )
        )
        failed = []
        for row in rows:
            row.status = SpaceRunStatus.FAILED.value
            row.error = error
            failed.append(row)
        self._session.flush()
        return [self._record(row) for row in failed]

    def fail_unclaimed(
        self, job_id: int, space_id: int, dagster_run_id: str, error: str
    ) -> SpaceRun | None:
        """Record that ``dagster_run_id`` failed on (job, space) before it claimed the pair: a
        new failed record, or an unfinished one that no other run holds. A record another run
        has claimed since (a re-execution) is left to that run's outcome, and a done one stays
        done. A compare-and-swap: returns the failed record, or None when it was left alone."""
        self._ensure_record(job_id, space_id)
        result = self._session.execute(
            update(SpaceRunRow)
            .where(
                SpaceRunRow.job_id == job_id,
                SpaceRunRow.space_id == space_id,
                SpaceRunRow.status.in_(
                    [SpaceRunStatus.PENDING.value, SpaceRunStatus.RUNNING.value]
                ),
                or_(
                    SpaceRunRow.dagster_run_id.is_(None),
                    SpaceRunRow.dagster_run_id == dagster_run_id,
                ),
            )
            .values(status=SpaceRunStatus.FAILED.value, dagster_run_id=dagster_run_id, error=error)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = self._session.scalar(
            select(SpaceRunRow)
            .where(SpaceRunRow.job_id == job_id, SpaceRunRow.space_id == space_id)
            .execution_options(populate_existing=True)
        )
        assert row is not None  # noqa: S101 - updated above
        return self._record(row)

    def progress_after(
        self, source_id: int, branch: str, after_event_id: int | None
    ) -> list[EventProgress]:
        """Recorded events of a source branch after ``after_event_id``, with their done spaces.

        Spaces deleted since the event are counted as done: nothing can ever run for them.
        """
        query = select(ImpactJobRow).where(
            ImpactJobRow.source_id == source_id,
            ImpactJobRow.branch == branch,
            ImpactJobRow.event_id.is_not(None),
        )
        if after_event_id is not None:
            query = query.where(ImpactJobRow.event_id > after_event_id)
        jobs = list(self._session.scalars(query.order_by(ImpactJobRow.event_id)))
        if not jobs:
            return []
        done: dict[int, set[int]] = {job.id: set() for job in jobs}
        for job_id, space_id in self._session.execute(
            select(SpaceRunRow.job_id, SpaceRunRow.space_id).where(
                SpaceRunRow.job_id.in_(list(done)), SpaceRunRow.status.in_(sorted(DONE_STATUSES))
            )
        ):
            done[job_id].add(space_id)
        affected = {space_id for job in jobs for space_id in job.affected_space_ids}
        existing = set(
            self._session.scalars(select(SpaceRow.id).where(SpaceRow.id.in_(sorted(affected))))
        )
        return [
            EventProgress(
                event_id=job.event_id or 0,
                head_sha=job.head_sha or "",
                affected_space_ids=frozenset(s for s in job.affected_space_ids if s in existing),
                done_space_ids=frozenset(done[job.id]),
            )
            for job in jobs
        ]

    def done_event_spaces(
        self, source_id: int, *, after_event_id: int | None
    ) -> set[tuple[int, int]]:
        """(event id, space id) pairs of a source that are done (succeeded or skipped)."""
        query = (
            select(ImpactJobRow.event_id, SpaceRunRow.space_id)
            .join(SpaceRunRow, SpaceRunRow.job_id == ImpactJobRow.id)
            .where(
                ImpactJobRow.source_id == source_id,
                ImpactJobRow.event_id.is_not(None),
                SpaceRunRow.status.in_(sorted(DONE_STATUSES)),
            )
        )
        if after_event_id is not None:
            query = query.where(ImpactJobRow.event_id > after_event_id)
        return {
            (event_id, space_id)
            for event_id, space_id in self._session.execute(query)
            if event_id is not None
        }

    def event_forced(self, source_id: int, event_id: int) -> bool:
        forced = self._session.scalar(
            select(ImpactJobRow.forced).where(
                ImpactJobRow.source_id == source_id, ImpactJobRow.event_id == event_id
            )
        )
        return bool(forced)

    def _ensure_record(self, job_id: int, space_id: int) -> None:
        """A pending (job, space) record unless one exists (whoever inserts first wins)."""
        self._session.execute(
            insert_ignoring_conflicts(
                self._session,
                SpaceRunRow,
                ["job_id", "space_id"],
                job_id=job_id,
                space_id=space_id,
                status=SpaceRunStatus.PENDING.value,
            )
        )

    def _row(self, job_id: int, space_id: int) -> SpaceRunRow:
        row = self._session.scalar(
            select(SpaceRunRow).where(
                SpaceRunRow.job_id == job_id, SpaceRunRow.space_id == space_id
            )
        )
        if row is None:
            raise NotFoundError(f"no record of job {job_id} for space {space_id}")
        return row

    def _record(self, row: SpaceRunRow) -> SpaceRun:
        job = self._session.get(ImpactJobRow, row.job_id)
        assert job is not None  # noqa: S101 - foreign key
        return SpaceRun(
            id=row.id,
            job_id=row.job_id,
            space_id=row.space_id,
            status=SpaceRunStatus(row.status),
            dagster_run_id=row.dagster_run_id,
            base_sha_used=row.base_sha_used,
            base_origin=row.base_origin,
            report=row.report,
            changeset_id=row.changeset_id,
            error=row.error,
            idempotency_key=job.idempotency_key,
            source_id=job.source_id,
            event_id=job.event_id,
            branch=job.branch,
            head_sha=job.head_sha,
            updated_at=row.updated_at,
        )
