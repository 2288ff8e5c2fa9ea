"""What runs record of their work: space pushes, space ranges, binding and source cursors.

Every write that decides something is a compare-and-swap or an insert that the unique
constraint arbitrates; callers serialise cursor decisions per source with ``lock_source``.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from jrn_dagster.db.models import (
    BindingCursorRow,
    SourceCursorRow,
    SourceRow,
    SpacePushRow,
    SpaceRangeRow,
)
from jrn_dagster.db.upsert import insert_ignoring_conflicts
from jrn_dagster.domain.coverage import ChainStep, Comparison, CoveredRange, Extension
from jrn_dagster.domain.errors import NotFoundError
from jrn_dagster.domain.records import (
    SourceCursor,
    SpacePush,
    SpacePushStatus,
    SpaceRange,
    SpaceRangeStatus,
)

_UNFINISHED_PUSH = [SpacePushStatus.PENDING.value, SpacePushStatus.RUNNING.value]
_DONE_PUSH = [s.value for s in SpacePushStatus if s.done]


class CoverageRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def lock_source(self, source_id: int) -> None:
        """Serialise cursor decisions for one source: a row lock on PostgreSQL. (SQLite
        serialises writers with ``BEGIN IMMEDIATE``: use ``serializable_write`` there.)"""
        self._session.execute(
            select(SourceRow.id).where(SourceRow.id == source_id).with_for_update()
        )

    # --- source cursors --------------------------------------------------------------------

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
        expected: SourceCursor | None,
    ) -> bool:
        """Move the cursor if it is still where ``expected`` says (None: no cursor yet)."""
        if expected is None:
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
                SourceCursorRow.head_sha == expected.head_sha,
                _equal_or_null(SourceCursorRow.event_id, expected.event_id),
            )
            .values(head_sha=head_sha, event_id=event_id, forced=forced)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    # --- binding cursors -------------------------------------------------------------------

    def binding_cursor(self, space_id: int, source_id: int, branch: str) -> CoveredRange | None:
        row = self._session.get(BindingCursorRow, (space_id, source_id, branch))
        if row is None:
            return None
        return CoveredRange(
            head_sha=row.head_sha, covered_from_sha=row.covered_from_sha, event_id=row.event_id
        )

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
        forced: bool,
    ) -> bool:
        """Compare-and-swap from ``expected`` to ``to``. Returns whether it moved."""
        values = {
            "head_sha": to.head_sha,
            "covered_from_sha": to.covered_from_sha,
            "event_id": to.event_id,
            "forced": forced,
        }
        if expected is None:
            inserted = self._session.execute(
                insert_ignoring_conflicts(
                    self._session,
                    BindingCursorRow,
                    ["space_id", "source_id", "branch"],
                    space_id=space_id,
                    source_id=source_id,
                    branch=branch,
                    **values,
                ).returning(BindingCursorRow.space_id)
            ).first()
            return inserted is not None
        result = self._session.execute(
            update(BindingCursorRow)
            .where(
                and_(
                    BindingCursorRow.space_id == space_id,
                    BindingCursorRow.source_id == source_id,
                    BindingCursorRow.branch == branch,
                    BindingCursorRow.head_sha == expected.head_sha,
                    _equal_or_null(BindingCursorRow.covered_from_sha, expected.covered_from_sha),
                )
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    # --- space pushes ----------------------------------------------------------------------

    def claim_push(
        self, event_id: int, source_id: int, space_id: int, dagster_run_id: str
    ) -> tuple[SpacePush, bool]:
        """Claim (push, space) for a run. Returns the record and whether it was already done,
        in which case it is left untouched."""
        self._ensure_push(event_id, source_id, space_id)
        row = self._push_row(event_id, source_id, space_id)
        if SpacePushStatus(row.status).done:
            return _space_push(row), True
        row.status = SpacePushStatus.RUNNING.value
        row.dagster_run_id = dagster_run_id
        row.error = None
        self._session.flush()
        return _space_push(row), False

    def finish_pushes(
        self,
        push_ids: Sequence[int],
        *,
        status: SpacePushStatus,
        range_id: int | None,
        dagster_run_id: str,
    ) -> None:
        if not push_ids:
            return
        self._session.execute(
            update(SpacePushRow)
            .where(SpacePushRow.id.in_(list(push_ids)))
            .values(
                status=status.value, range_id=range_id, dagster_run_id=dagster_run_id, error=None
            )
            .execution_options(synchronize_session=False)
        )

    def cover_pushes(
        self,
        event_ids: Sequence[int],
        *,
        source_id: int,
        space_id: int,
        range_id: int,
        dagster_run_id: str,
    ) -> None:
        """Pushes another run's range included: ``covered``, unless already done."""
        for event_id in event_ids:
            self._ensure_push(event_id, source_id, space_id)
        if not event_ids:
            return
        self._session.execute(
            update(SpacePushRow)
            .where(
                SpacePushRow.event_id.in_(list(event_ids)),
                SpacePushRow.source_id == source_id,
                SpacePushRow.space_id == space_id,
                SpacePushRow.status.not_in(_DONE_PUSH),
            )
            .values(
                status=SpacePushStatus.COVERED.value,
                range_id=range_id,
                dagster_run_id=dagster_run_id,
                error=None,
            )
            .execution_options(synchronize_session=False)
        )

    def pushes_of_event(self, event_id: int) -> list[SpacePush]:
        rows = self._session.scalars(
            select(SpacePushRow)
            .where(SpacePushRow.event_id == event_id)
            .order_by(SpacePushRow.source_id, SpacePushRow.space_id)
        )
        return [_space_push(row) for row in rows]

    def pushes_by_run(self, dagster_run_id: str) -> list[SpacePush]:
        rows = self._session.scalars(
            select(SpacePushRow)
            .where(SpacePushRow.dagster_run_id == dagster_run_id)
            .order_by(SpacePushRow.event_id, SpacePushRow.space_id)
        )
        return [_space_push(row) for row in rows]

    def fail_unclaimed_push(
        self, event_id: int, source_id: int, space_id: int, dagster_run_id: str, error: str
    ) -> SpacePush | None:
        """Record that ``dagster_run_id`` failed on (push, space) before it claimed it: a new
        failed record, or an unfinished one no other run holds. A record another run claimed
        since (a re-execution) is left to that run, and a done one stays done. Returns the failed
        record, or None when it was left alone."""
        self._ensure_push(event_id, source_id, space_id)
        result = self._session.execute(
            update(SpacePushRow)
            .where(
                SpacePushRow.event_id == event_id,
                SpacePushRow.source_id == source_id,
                SpacePushRow.space_id == space_id,
                SpacePushRow.status.in_(_UNFINISHED_PUSH),
                or_(
                    SpacePushRow.dagster_run_id.is_(None),
                    SpacePushRow.dagster_run_id == dagster_run_id,
                ),
            )
            .values(status=SpacePushStatus.FAILED.value, dagster_run_id=dagster_run_id, error=error)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return _space_push(self._push_row(event_id, source_id, space_id, fresh=True))

    # --- space ranges ----------------------------------------------------------------------

    def start_range(
        self,
        *,
        space_id: int,
        source_id: int,
        branch: str,
        head_sha: str,
        base_sha: str | None,
        link_from_sha: str | None,
        comparison: Comparison,
        extension: Extension,
        event_id: int,
        dagster_run_id: str,
    ) -> SpaceRange:
        row = SpaceRangeRow(
            space_id=space_id,
            source_id=source_id,
            branch=branch,
            head_sha=head_sha,
            base_sha=base_sha,
            link_from_sha=link_from_sha,
            comparison=comparison.value,
            extension=extension.value,
            event_id=event_id,
            status=SpaceRangeStatus.RUNNING.value,
            dagster_run_id=dagster_run_id,
        )
        self._session.add(row)
        self._session.flush()
        return SpaceRange.model_validate(row)

    def get_range(self, range_id: int) -> SpaceRange:
        return SpaceRange.model_validate(self._range_row(range_id))

    def ranges_by_id(self, range_ids: Sequence[int]) -> dict[int, SpaceRange]:
        if not range_ids:
            return {}
        rows = self._session.scalars(
            select(SpaceRangeRow).where(SpaceRangeRow.id.in_(list(range_ids)))
        )
        return {row.id: SpaceRange.model_validate(row) for row in rows}

    def ranges_by_run(self, dagster_run_id: str) -> list[SpaceRange]:
        rows = self._session.scalars(
            select(SpaceRangeRow)
            .where(SpaceRangeRow.dagster_run_id == dagster_run_id)
            .order_by(SpaceRangeRow.id)
        )
        return [SpaceRange.model_validate(row) for row in rows]

    def update_range(
        self,
        range_id: int,
        *,
        status: SpaceRangeStatus | None = None,
        report: dict[str, Any] | None = None,
        changeset_id: int | None = None,
        dagster_run_id: str | None = None,
    ) -> SpaceRange:
        """Set the given fields (None leaves a field as it is)."""
        row = self._range_row(range_id)
        updates = {
            "status": status.value if status else None,
            "report": report,
            "changeset_id": changeset_id,
            "dagster_run_id": dagster_run_id,
        }
        for name, value in updates.items():
            if value is not None:
                setattr(row, name, value)
        if status is SpaceRangeStatus.SUCCEEDED:
            row.error = None
        self._session.flush()
        return SpaceRange.model_validate(row)

    def chains(
        self, source_id: int, branch: str, space_ids: Sequence[int]
    ) -> dict[int, list[ChainStep]]:
        """Each space's chain: the ranges applied to its binding cursor, in order."""
        chains: dict[int, list[ChainStep]] = {space_id: [] for space_id in space_ids}
        if not space_ids:
            return chains
        rows = self._session.execute(
            select(
                SpaceRangeRow.space_id,
                SpaceRangeRow.chain_seq,
                SpaceRangeRow.link_from_sha,
                SpaceRangeRow.head_sha,
                SpaceRangeRow.event_id,
                SpaceRangeRow.comparison,
            )
            .where(
                SpaceRangeRow.source_id == source_id,
                SpaceRangeRow.branch == branch,
                SpaceRangeRow.chain_seq.is_not(None),
                SpaceRangeRow.space_id.in_(list(space_ids)),
            )
            .order_by(SpaceRangeRow.space_id, SpaceRangeRow.chain_seq)
        )
        for space_id, seq, start, end, event_id, comparison in rows:
            rewrites = Comparison(comparison).rewrites
            chains[space_id].append(ChainStep(seq or 0, start, end, event_id, rewrites))
        return chains

    def chain_ends(self, space_id: int, source_id: int, branch: str) -> tuple[int, int] | None:
        """The first and last ``chain_seq`` of a space's chain (None: empty)."""
        low, high = self._session.execute(
            select(func.min(SpaceRangeRow.chain_seq), func.max(SpaceRangeRow.chain_seq)).where(
                SpaceRangeRow.space_id == space_id,
                SpaceRangeRow.source_id == source_id,
                SpaceRangeRow.branch == branch,
            )
        ).one()
        return None if low is None or high is None else (low, high)

    def place_in_chain(self, range_id: int, seq: int) -> None:
        self._range_row(range_id).chain_seq = seq
        self._session.flush()

    def islands(
        self, space_id: int, source_id: int, branch: str
    ) -> list[tuple[int, str | None, str]]:
        """(id, base, head) of succeeded ranges not in the space's chain."""
        rows = self._session.execute(
            select(SpaceRangeRow.id, SpaceRangeRow.base_sha, SpaceRangeRow.head_sha)
            .where(
                SpaceRangeRow.space_id == space_id,
                SpaceRangeRow.source_id == source_id,
                SpaceRangeRow.branch == branch,
                SpaceRangeRow.status == SpaceRangeStatus.SUCCEEDED.value,
                SpaceRangeRow.chain_seq.is_(None),
            )
            .order_by(SpaceRangeRow.id.desc())
        )
        return [(range_id, base, head) for range_id, base, head in rows]

    def source_positions(self, source_id: int, branch: str) -> dict[int, int | None]:
        """Where the source cursor stands in each binding's chain."""
        rows = self._session.execute(
            select(BindingCursorRow.space_id, BindingCursorRow.source_seq).where(
                BindingCursorRow.source_id == source_id, BindingCursorRow.branch == branch
            )
        )
        return {space_id: seq for space_id, seq in rows}

    def set_source_positions(self, source_id: int, branch: str, positions: dict[int, int]) -> None:
        for space_id, seq in positions.items():
            self._session.execute(
                update(BindingCursorRow)
                .where(
                    BindingCursorRow.space_id == space_id,
                    BindingCursorRow.source_id == source_id,
                    BindingCursorRow.branch == branch,
                )
                .values(source_seq=seq)
                .execution_options(synchronize_session=False)
            )

    # --- failures --------------------------------------------------------------------------

    def fail_run(self, dagster_run_id: str, error: str) -> tuple[list[SpaceRange], list[SpacePush]]:
        """What a failed or cancelled run left unfinished becomes failed (done stays done)."""
        ranges = list(
            self._session.scalars(
                select(SpaceRangeRow).where(
                    SpaceRangeRow.dagster_run_id == dagster_run_id,
                    SpaceRangeRow.status == SpaceRangeStatus.RUNNING.value,
                )
            )
        )
        pushes = list(
            self._session.scalars(
                select(SpacePushRow).where(
                    SpacePushRow.dagster_run_id == dagster_run_id,
                    SpacePushRow.status.in_(_UNFINISHED_PUSH),
                )
            )
        )
        for row in ranges:
            row.status, row.error = SpaceRangeStatus.FAILED.value, error
        for push in pushes:
            push.status, push.error = SpacePushStatus.FAILED.value, error
        self._session.flush()
        return (
            [SpaceRange.model_validate(row) for row in ranges],
            [_space_push(row) for row in pushes],
        )

    # --- rows ------------------------------------------------------------------------------

    def _ensure_push(self, event_id: int, source_id: int, space_id: int) -> None:
        """A pending record unless one exists (whoever inserts first wins)."""
        self._session.execute(
            insert_ignoring_conflicts(
                self._session,
                SpacePushRow,
                ["event_id", "source_id", "space_id"],
                event_id=event_id,
                source_id=source_id,
                space_id=space_id,
                status=SpacePushStatus.PENDING.value,
            )
        )

    def _push_row(
        self, event_id: int, source_id: int, space_id: int, *, fresh: bool = False
    ) -> SpacePushRow:
        query = select(SpacePushRow).where(
            SpacePushRow.event_id == event_id,
            SpacePushRow.source_id == source_id,
            SpacePushRow.space_id == space_id,
        )
        if fresh:
            query = query.execution_options(populate_existing=True)
        row = self._session.scalar(query)
        if row is None:
            raise NotFoundError(f"no record of push {event_id} for space {space_id}")
        return row

    def _range_row(self, range_id: int) -> SpaceRangeRow:
        row = self._session.get(SpaceRangeRow, range_id)
        if row is None:
            raise NotFoundError(f"space range {range_id} does not exist")
        return row


def _space_push(row: SpacePushRow) -> SpacePush:
    return SpacePush.model_validate(row)


def _equal_or_null(column: Any, value: object) -> Any:
    return column.is_(None) if value is None else column == value
