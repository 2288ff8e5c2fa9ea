from sqlalchemy import select
from sqlalchemy.orm import Session

from jrn_dagster.db.models import BindingRow, SourceRow, SpaceRow
from jrn_dagster.domain.coordinates import RepoCoordinate
from jrn_dagster.domain.errors import ConflictError, InvalidInputError, NotFoundError
from jrn_dagster.domain.jrn import validate_binding_pattern
from jrn_dagster.domain.records import Binding, Space
from jrn_dagster.domain.validation import validate_slug


def _binding(row: BindingRow) -> Binding:
    return Binding(
        space_id=row.space_id,
        source_id=row.source_id,
        space_slug=row.space.slug,
        source_name=row.source.name,
        jrn_pattern=row.jrn_pattern,
        enabled=row.enabled,
        created_at=row.created_at,
    )


class SpaceRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, slug: str, *, name: str | None = None) -> Space:
        slug = validate_slug(slug)
        if self._row_by_slug(slug) is not None:
            raise ConflictError(f"space {slug!r} already exists")
        row = SpaceRow(slug=slug, name=name or slug, archived=False)
        self._session.add(row)
        self._session.flush()
        return self._space(row)

    def archive(self, slug: str) -> Space:
        row = self._require(slug)
        row.archived = True
        self._session.flush()
        return self._space(row)

    def get(self, space_id: int) -> Space:
        row = self._session.get(SpaceRow, space_id)
        if row is None:
            raise NotFoundError(f"space {space_id} does not exist")
        return self._space(row)

    def get_by_slug(self, slug: str) -> Space:
        return self._space(self._require(slug))

    def all(self) -> list[Space]:
        rows = list(self._session.scalars(select(SpaceRow).order_by(SpaceRow.id)))
        bindings: dict[int, list[Binding]] = {row.id: [] for row in rows}
        for binding in self._session.scalars(
            select(BindingRow).order_by(BindingRow.space_id, BindingRow.source_id)
        ):
            bindings[binding.space_id].append(_binding(binding))
        return [self._space(row, bindings[row.id]) for row in rows]

    def bind(
        self,
        slug: str,
        source_name: str,
        *,
        jrn_pattern: str | None = None,
        clear_pattern: bool = False,
        enabled: bool | None = None,
    ) -> Binding:
        """Create a binding, or change only what is given on an existing one: the pattern when
        ``jrn_pattern`` is given (removed with ``clear_pattern``), the state when ``enabled``
        is. A new binding is enabled unless ``enabled`` is False.

        The pattern must be able to match a push to the source (``validate_binding_pattern``).
        """
        if clear_pattern and jrn_pattern is not None:
            raise InvalidInputError("give a JRN pattern or remove it, not both")
        space = self._require(slug)
        source = self._session.scalar(select(SourceRow).where(SourceRow.name == source_name))
        if source is None:
            raise NotFoundError(f"source {source_name!r} does not exist")
        if jrn_pattern is not None:
            validate_binding_pattern(
                jrn_pattern,
                coordinate=RepoCoordinate.parse(source.repo) if source.repo else None,
                branch=source.branch,
                source_name=source.name,
            )
        row = self._session.get(BindingRow, (space.id, source.id))
        if row is None:
            row = BindingRow(
                space_id=space.id,
                source_id=source.id,
                jrn_pattern=jrn_pattern,
                enabled=True if enabled is None else enabled,
            )
            self._session.add(row)
        else:
            if enabled is not None:
                row.enabled = enabled
            if jrn_pattern is not None or clear_pattern:
                row.jrn_pattern = jrn_pattern
        self._session.flush()
        self._session.refresh(row)
        return _binding(row)

    def find_binding(self, slug: str, source_name: str) -> Binding | None:
        row = self._session.scalar(
            select(BindingRow)
            .join(SpaceRow, SpaceRow.id == BindingRow.space_id)
            .join(SourceRow, SourceRow.id == BindingRow.source_id)
            .where(SpaceRow.slug == slug, SourceRow.name == source_name)
        )
        return _binding(row) if row is not None else None

    def unbind(self, slug: str, source_name: str) -> None:
        space = self._require(slug)
        row = self._session.scalar(
            select(BindingRow)
            .join(SourceRow, SourceRow.id == BindingRow.source_id)
            .where(BindingRow.space_id == space.id, SourceRow.name == source_name)
        )
        if row is None:
            raise NotFoundError(f"space {slug!r} is not bound to source {source_name!r}")
        self._session.delete(row)
        self._session.flush()

    def ids_by_slug(self, slugs: list[str]) -> dict[str, int]:
        if not slugs:
            return {}
        rows = self._session.execute(
            select(SpaceRow.slug, SpaceRow.id).where(SpaceRow.slug.in_(sorted(set(slugs))))
        )
        return {slug: space_id for slug, space_id in rows}

    def bindings_of_space(self, space_id: int) -> list[Binding]:
        rows = self._session.scalars(
            select(BindingRow).where(BindingRow.space_id == space_id).order_by(BindingRow.source_id)
        )
        return [_binding(row) for row in rows]

    def active_bindings_of_source(self, source_id: int) -> list[tuple[int, str | None]]:
        """(space id, JRN pattern) of a source's enabled bindings to spaces not archived."""
        rows = self._session.execute(
            select(BindingRow.space_id, BindingRow.jrn_pattern)
            .join(SpaceRow, SpaceRow.id == BindingRow.space_id)
            .where(BindingRow.source_id == source_id, BindingRow.enabled, ~SpaceRow.archived)
            .order_by(BindingRow.space_id)
        )
        return [(space_id, pattern) for space_id, pattern in rows]

    def _space(self, row: SpaceRow, bindings: list[Binding] | None = None) -> Space:
        if bindings is None:
            bindings = self.bindings_of_space(row.id)
        return Space(
            id=row.id,
            slug=row.slug,
            name=row.name,
            archived=row.archived,
            created_at=row.created_at,
            updated_at=row.updated_at,
            bindings=bindings,
        )

    def _require(self, slug: str) -> SpaceRow:
        row = self._row_by_slug(slug)
        if row is None:
            raise NotFoundError(f"space {slug!r} does not exist")
        return row

    def _row_by_slug(self, slug: str) -> SpaceRow | None:
        return self._session.scalar(select(SpaceRow).where(SpaceRow.slug == slug))
