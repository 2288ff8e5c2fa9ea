"""Source and binding cursors. Writes are compare-and-swap: a stale writer changes nothing."""

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from jrn_dagster.db.models import BindingCursorRow, SourceCursorRow, SourceRow
from jrn_dagster.db.upsert import insert_ignoring_conflicts
from jrn_dagster.domain.records import SourceCursor
from jrn_dagster.domain.run_plan import CoveredRange


class CursorRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def lock_source(self, source_id: int) -> None:
        """Serialise cursor decisions for one source: a row lock on PostgreSQL. (SQLite
        serialises writers with ``BEGIN IMMEDIATE``: use ``serializable_write`` there.)"""
        self._session.execute(
            select(SourceRow.id).where(SourceRow.id == source_id).with_for_update()
        )

    def source_cursor(self, source_id: int, branch: str) -> SourceCursor | None:
        row = self._session.get(SourceCursorRow, (source_id, branch))
        return SourceCursor.model_validate(row) if row else None

    def move_source_cursor(
        self,
        source_id: int,
        branch: str,
        *,
        head_sha: str,
        event_id: int,
        forced: bool,
        expected_event_id: int | None,
    ) -> bool:
        """Move the cursor to ``event_id`` if it is still at ``expected_event_id`` (None: no
        cursor yet) and ``event_id`` is newer. Returns whether it moved."""
        if expected_event_id is None:
            inserted = self._session.execute(
                insert_ignoring_conflicts(
                    self._session,
                    SourceCursorRow,
                    ["source_id", "branch"],
                    source_id=source_id,
                    branch=branch,
                    head_sha=head_sha,
                    event_id=event_id,
                    forced=forced,
                ).returning(SourceCursorRow.source_id)
            ).first()
            return inserted is not None
        result = self._session.execute(
            update(SourceCursorRow)
            .where(
                SourceCursorRow.source_id == source_id,
                SourceCursorRow.branch == branch,
                SourceCursorRow.event_id == expected_event_id,
                SourceCursorRow.event_id < event_id,
            )
            .values(head_sha=head_sha, event_id=event_id, forced=forced)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    def binding_cursor(self, space_id: int, source_id: int, branch: str) -> CoveredRange | None:
        row = self._session.get(BindingCursorRow, (space_id, source_id, branch))
        if row is None:
            return None
        return CoveredRange(head_sha=row.head_sha, covered_from_sha=row.covered_from_sha)

    def binding_cursor_branches(self, space_id: int, source_id: int) -> list[str]:
        return list(
            self._session.scalars(
                select(BindingCursorRow.branch)
                .where(
                    BindingCursorRow.space_id == space_id,
                    BindingCursorRow.source_id == source_id,
                )
                .order_by(BindingCursorRow.branch)
            )
        )

    def move_binding_cursor(
        self,
        space_id: int,
        source_id: int,
        branch: str,
        *,
        to: CoveredRange,
        expected: CoveredRange | None,
        event_id: int | None,
        forced: bool,
    ) -> bool:
        """Compare-and-swap from ``expected`` to ``to``. Returns whether it moved."""
        if expected is None:
            inserted = self._session.execute(
                insert_ignoring_conflicts(
                    self._session,
                    BindingCursorRow,
                    ["space_id", "source_id", "branch"],
                    space_id=space_id,
                    source_id=source_id,
                    branch=branch,
                    head_sha=to.head_sha,
                    covered_from_sha=to.covered_from_sha,
                    event_id=event_id,
                    forced=forced,
                ).returning(BindingCursorRow.space_id)
            ).first()
            return inserted is not None
        covered_from_matches = (
            BindingCursorRow.covered_from_sha.is_(None)
            if expected.covered_from_sha is None
            else BindingCursorRow.covered_from_sha == expected.covered_from_sha
        )
        result = self._session.execute(
            update(BindingCursorRow)
            .where(
                and_(
                    BindingCursorRow.space_id == space_id,
                    BindingCursorRow.source_id == source_id,
                    BindingCursorRow.branch == branch,
                    BindingCursorRow.head_sha == expected.head_sha,
                    covered_from_matches,
                )
            )
            .values(
                head_sha=to.head_sha,
                covered_from_sha=to.covered_from_sha,
                event_id=event_id,
                forced=forced,
            )
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]
