from sqlalchemy import select
from sqlalchemy.orm import Session

from jrn_dagster.db.models import BindingRow, IntegrationRow, SourceRow
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import ConflictError, InvalidInputError, NotFoundError
from jrn_dagster.domain.records import Source
from jrn_dagster.domain.refs import validate_source_branch
from jrn_dagster.domain.validation import validate_name


class SourceRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        name: str,
        *,
        repo: str | None = None,
        branch: str | None = None,
        integration: str | None = None,
        enabled: bool = True,
    ) -> Source:
        """A source with an integration is true; without one it is virtual (local-only)."""
        name = validate_name(name, "source")
        coordinate = RepoCoordinate.parse(repo) if repo is not None else None
        if branch is not None:
            validate_source_branch(branch)
        if self._row_by_name(name) is not None:
            raise ConflictError(f"source {name!r} already exists")
        integration_row = (
            self._linkable_integration(integration, coordinate) if integration else None
        )
        row = SourceRow(
            name=name,
            type="git",
            repo=str(coordinate) if coordinate else None,
            repo_key=coordinate.key if coordinate else None,
            branch=branch,
            integration_id=integration_row.id if integration_row else None,
            enabled=enabled,
        )
        self._session.add(row)
        self._session.flush()
        return Source.model_validate(row)

    def link(self, name: str, integration: str) -> Source:
        """Promote a virtual source to a true one (or move it to another integration)."""
        row = self._require(name)
        coordinate = RepoCoordinate.parse(row.repo) if row.repo else None
        row.integration_id = self._linkable_integration(integration, coordinate).id
        self._session.flush()
        return Source.model_validate(row)

    def set_enabled(self, name: str, enabled: bool) -> Source:
        row = self._require(name)
        row.enabled = enabled
        self._session.flush()
        return Source.model_validate(row)

    def remove(self, name: str) -> None:
        """Its bindings go with it (``ON DELETE CASCADE``)."""
        self._session.delete(self._require(name))
        self._session.flush()

    def get(self, source_id: int) -> Source:
        row = self._session.get(SourceRow, source_id)
        if row is None:
            raise NotFoundError(f"source {source_id} does not exist")
        return Source.model_validate(row)

    def get_by_name(self, name: str) -> Source:
        return Source.model_validate(self._require(name))

    def all(self) -> list[Source]:
        rows = self._session.scalars(select(SourceRow).order_by(SourceRow.id))
        return [Source.model_validate(row) for row in rows]

    def bound_to(self, space_id: int) -> list[Source]:
        """The sources a space is bound to (enabled bindings or not)."""
        rows = self._session.scalars(
            select(SourceRow)
            .join(BindingRow, BindingRow.source_id == SourceRow.id)
            .where(BindingRow.space_id == space_id)
            .order_by(SourceRow.id)
        )
        return [Source.model_validate(row) for row in rows]

    def _linkable_integration(self, name: str, coordinate: RepoCoordinate | None) -> IntegrationRow:
        row = self._session.scalar(select(IntegrationRow).where(IntegrationRow.name == name))
        if row is None:
            raise NotFoundError(f"integration {name!r} does not exist")
        if coordinate is None:
            raise InvalidInputError(
                "a true source needs a repo coordinate (--repo HOST/OWNER/REPO) to be cloned "
                "and matched"
            )
        if coordinate.host != row.host:
            raise InvalidInputError(
                f"integration {name!r} is for host {row.host!r} but the source's repo is on "
                f"{coordinate.host!r}"
            )
        return row

    def _require(self, name: str) -> SourceRow:
        row = self._row_by_name(name)
        if row is None:
            raise NotFoundError(f"source {name!r} does not exist")
        return row

    def _row_by_name(self, name: str) -> SourceRow | None:
        return self._session.scalar(select(SourceRow).where(SourceRow.name == name))
