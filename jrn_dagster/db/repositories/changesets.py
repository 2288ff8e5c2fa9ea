"""Changesets: proposals written by runs, applied or rejected by people."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jrn_dagster.db.models import ChangesetDocRow, ChangesetRow, DocRow
from jrn_dagster.db.repositories.docs import DocRepository
from jrn_dagster.db.types import utcnow
from jrn_dagster.db.upsert import insert_ignoring_conflicts
from jrn_dagster.domain.commits import SourceCommits
from jrn_dagster.domain.covers import CoveredChange
from jrn_dagster.domain.errors import ConflictError, NotFoundError
from jrn_dagster.domain.records import Changeset, ChangesetDoc, ChangesetStatus
from jrn_dagster.domain.validation import file_and_directory_clash

# Paths per IN (...) list: well below every database's bound-parameter limit.
_IN_CHUNK = 500


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + _IN_CHUNK] for i in range(0, len(values), _IN_CHUNK)]


def _covers_json(covers: Sequence[CoveredChange]) -> list[dict[str, Any]]:
    return [cover.model_dump(by_alias=True, mode="json") for cover in covers]


def _require_open(row: ChangesetRow) -> None:
    if row.status == ChangesetStatus.SUPERSEDED.value:
        raise ConflictError(
            f"changeset {row.id} is superseded by changeset {row.superseded_by}: review that one"
        )
    if row.status != ChangesetStatus.OPEN.value:
        raise ConflictError(f"changeset {row.id} is {row.status}, not open")


@dataclass(frozen=True)
class OpenProposal:
    changeset_id: int
    covers: list[CoveredChange]


@dataclass(frozen=True)
class ApplyResult:
    changeset: Changeset
    applied: bool
    # path -> why it cannot be applied (the doc changed since the proposal was computed)
    conflicts: dict[str, str] = field(default_factory=dict)


class ChangesetRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def create_once(
        self,
        *,
        key: str,
        space_id: int,
        summary: str,
        docs: Sequence[ChangesetDoc],
        dagster_run_id: str | None,
        commits: Sequence[SourceCommits] = (),
    ) -> tuple[Changeset, bool]:
        """The changeset for ``key``: created now, or the one an earlier execution created
        (re-executing a run never makes a second). Returns (changeset, created). Each doc's
        evidence and the range's ``commits`` are stored with it."""
        status = ChangesetStatus.OPEN if docs else ChangesetStatus.EMPTY
        inserted = self._session.execute(
            insert_ignoring_conflicts(
                self._session,
                ChangesetRow,
                ["key"],
                key=key,
                space_id=space_id,
                status=status.value,
                summary=summary,
                dagster_run_id=dagster_run_id,
                created_at=utcnow(),
                commits=[c.model_dump(by_alias=True, mode="json") for c in commits],
            ).returning(ChangesetRow.id)
        ).scalar()
        if inserted is not None:
            for doc in docs:
                self._session.add(
                    ChangesetDocRow(
                        changeset_id=inserted,
                        path=doc.path,
                        base_version=doc.base_version,
                        proposed_content=doc.proposed_content,
                        evidence=[e.model_dump(by_alias=True, mode="json") for e in doc.evidence],
                        covers=_covers_json(doc.covers),
                    )
                )
            self._session.flush()
        row = self._session.scalar(select(ChangesetRow).where(ChangesetRow.key == key))
        assert row is not None  # noqa: S101 - inserted above or by an earlier execution
        self._session.refresh(row)
        return Changeset.model_validate(row), inserted is not None

    def open_proposals(self, space_id: int, paths: Collection[str]) -> dict[str, OpenProposal]:
        """Each of ``paths`` with an open proposal in the space: the newest open changeset that
        proposes it (one at most once every proposal supersedes the older ones)."""
        found: dict[str, OpenProposal] = {}
        for chunk in _chunks(sorted(set(paths))):
            rows = self._session.execute(
                select(ChangesetDocRow.path, ChangesetDocRow.changeset_id, ChangesetDocRow.covers)
                .join(ChangesetRow, ChangesetRow.id == ChangesetDocRow.changeset_id)
                .where(
                    ChangesetRow.space_id == space_id,
                    ChangesetRow.status == ChangesetStatus.OPEN.value,
                    ChangesetDocRow.path.in_(chunk),
                )
                .order_by(ChangesetDocRow.changeset_id)
            )
            for path, changeset_id, covers in rows:
                found[path] = OpenProposal(
                    changeset_id=changeset_id,
                    covers=[CoveredChange.model_validate(c) for c in covers or []],
                )
        return found

    def supersede_open(self, changeset_id: int) -> list[int]:
        """Make ``changeset_id`` the one open proposal of each of its docs: every other open
        changeset of its space proposing one of them becomes ``superseded`` by it, and the docs
        of those it does not propose are carried into it unchanged (docs/decisions.md, "One
        open proposal per doc"). Returns the superseded ids, oldest first."""
        row = self._require(changeset_id)
        self._session.refresh(row)
        paths = {doc.path for doc in row.docs}
        if row.status != ChangesetStatus.OPEN.value or not paths:
            return []
        older = set()
        for chunk in _chunks(sorted(paths)):
            older.update(
                self._session.scalars(
                    select(ChangesetDocRow.changeset_id)
                    .join(ChangesetRow, ChangesetRow.id == ChangesetDocRow.changeset_id)
                    .where(
                        ChangesetRow.space_id == row.space_id,
                        ChangesetRow.status == ChangesetStatus.OPEN.value,
                        ChangesetRow.id != changeset_id,
                        ChangesetDocRow.path.in_(chunk),
                    )
                )
            )
        superseded = []
        # Newest first: of two old proposals for one doc (a pile-up from before this rule),
        # the newer is carried.
        for old_id in sorted(older, reverse=True):
            taken = self._session.execute(
                update(ChangesetRow)
                .where(ChangesetRow.id == old_id, ChangesetRow.status == ChangesetStatus.OPEN.value)
                .values(
                    status=ChangesetStatus.SUPERSEDED.value,
                    superseded_by=changeset_id,
                    decided_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined] - applied or rejected meanwhile
                continue
            superseded.append(old_id)
            for doc in self._session.scalars(
                select(ChangesetDocRow).where(ChangesetDocRow.changeset_id == old_id)
            ):
                if doc.path in paths:
                    continue
                paths.add(doc.path)
                self._session.add(
                    ChangesetDocRow(
                        changeset_id=changeset_id,
                        path=doc.path,
                        base_version=doc.base_version,
                        proposed_content=doc.proposed_content,
                        covers=doc.covers,
                    )
                )
        if superseded:
            ids = ", ".join(str(i) for i in sorted(superseded))
            row.summary = f"{row.summary}; supersedes changeset(s) {ids}"
        self._session.flush()
        self._session.expire(row)
        return sorted(superseded)

    def get(self, changeset_id: int) -> Changeset:
        return Changeset.model_validate(self._require(changeset_id))

    def all(
        self, *, space_id: int | None = None, status: ChangesetStatus | None = None
    ) -> list[Changeset]:
        query = select(ChangesetRow).order_by(ChangesetRow.id)
        if space_id is not None:
            query = query.where(ChangesetRow.space_id == space_id)
        if status is not None:
            query = query.where(ChangesetRow.status == status.value)
        return [Changeset.model_validate(row) for row in self._session.scalars(query)]

    def apply(self, changeset_id: int) -> ApplyResult:
        """Write every proposed doc, each a compare-and-swap on its version; all or nothing.

        A doc changed since the proposal was computed (or created meanwhile, for a proposed new
        doc), and a new doc whose path clashes with another doc's (``guide`` beside
        ``guide/intro.md``, in the space or in the changeset) is a conflict: nothing is written,
        the conflicts are returned. The caller commits only when ``applied``.
        """
        row = self._require(changeset_id)
        _require_open(row)
        conflicts = self._conflicts(row)
        if conflicts:
            return ApplyResult(Changeset.model_validate(row), False, conflicts)
        docs = DocRepository(self._session)
        for doc in row.docs:
            if doc.base_version is None:
                created = DocRow(
                    space_id=row.space_id, path=doc.path, content=doc.proposed_content, version=1
                )
                self._session.add(created)
                docs.derive_rules(created)  # rules are parsed when a doc is written
                continue
            result = self._session.execute(
                update(DocRow)
                .where(
                    DocRow.space_id == row.space_id,
                    DocRow.path == doc.path,
                    DocRow.version == doc.base_version,
                )
                .values(
                    content=doc.proposed_content, version=DocRow.version + 1, updated_at=utcnow()
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined] - changed since we looked
                raise ConflictError(
                    f"doc {doc.path!r} changed while changeset {changeset_id} was applied"
                )
            written = self._session.scalars(
                select(DocRow)
                .where(DocRow.space_id == row.space_id, DocRow.path == doc.path)
                .execution_options(populate_existing=True)
            ).one()
            docs.derive_rules(written)
        row.status = ChangesetStatus.APPLIED.value
        row.decided_at = utcnow()
        self._session.flush()
        return ApplyResult(Changeset.model_validate(row), True)

    def reject(self, changeset_id: int) -> Changeset:
        row = self._require(changeset_id)
        _require_open(row)
        row.status = ChangesetStatus.REJECTED.value
        row.decided_at = utcnow()
        self._session.flush()
        return Changeset.model_validate(row)

    def _conflicts(self, row: ChangesetRow) -> dict[str, str]:
        current = {
            path: version
            for path, version in self._session.execute(
                select(DocRow.path, DocRow.version).where(
                    DocRow.space_id == row.space_id, DocRow.path.in_([d.path for d in row.docs])
                )
            )
        }
        conflicts = {}
        for doc in row.docs:
            version = current.get(doc.path)
            if doc.base_version is None and version is not None:
                conflicts[doc.path] = f"created meanwhile (now version {version})"
            elif doc.base_version is not None and version is None:
                conflicts[doc.path] = f"deleted since version {doc.base_version}"
            elif doc.base_version is not None and version != doc.base_version:
                conflicts[doc.path] = f"changed since version {doc.base_version} (now {version})"
            elif doc.base_version is None:
                clash = file_and_directory_clash(
                    doc.path, (d.path for d in row.docs if d is not doc)
                ) or DocRepository(self._session).clashing_path(row.space_id, doc.path)
                if clash is not None:
                    conflicts[doc.path] = (
                        f"clashes with doc {clash!r} (a path cannot be both a doc and a "
                        "directory of docs)"
                    )
        return conflicts

    def _require(self, changeset_id: int) -> ChangesetRow:
        row = self._session.get(ChangesetRow, changeset_id)
        if row is None:
            raise NotFoundError(f"changeset {changeset_id} does not exist")
        return row
