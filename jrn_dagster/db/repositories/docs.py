from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jrn_dagster.db.models import DocRow
from jrn_dagster.domain.errors import InvalidInputError, NotFoundError
from jrn_dagster.domain.records import Doc
from jrn_dagster.domain.validation import normalize_relative_path, parent_directories


class DocRepository:
    """The versioned doc store: every change of content bumps ``version``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def put(self, space_id: int, path: str, content: str) -> Doc:
        """Create or replace a doc. Writing the same content again is a no-op (same version).
        A new doc whose path clashes with another doc's (``guide`` beside ``guide/intro.md``) is
        refused: the two cannot both be files in the sandbox."""
        path = normalize_relative_path(path)
        row = self._row(space_id, path)
        if row is None:
            clash = self.clashing_path(space_id, path)
            if clash is not None:
                raise InvalidInputError(
                    f"doc path {path!r} clashes with doc {clash!r} of the same space: a path "
                    "cannot be both a doc and a directory of docs"
                )
            row = DocRow(space_id=space_id, path=path, content=content, version=1)
            self._session.add(row)
        elif row.content != content:
            row.content = content
            row.version += 1
        self._session.flush()
        return Doc.model_validate(row)

    def get(self, space_id: int, path: str) -> Doc:
        row = self._row(space_id, normalize_relative_path(path))
        if row is None:
            raise NotFoundError(f"doc {path!r} does not exist in space {space_id}")
        return Doc.model_validate(row)

    def find(self, space_id: int, path: str) -> Doc | None:
        row = self._row(space_id, normalize_relative_path(path))
        return Doc.model_validate(row) if row is not None else None

    def all(self, space_id: int) -> list[Doc]:
        rows = self._session.scalars(
            select(DocRow).where(DocRow.space_id == space_id).order_by(DocRow.path)
        )
        return [Doc.model_validate(row) for row in rows]

    def clashing_path(self, space_id: int, path: str) -> str | None:
        """A doc of the space named like a directory of ``path``, or inside a directory named
        ``path`` (see ``domain.paths.file_and_directory_clash``); None when there is none."""
        return self._session.scalar(
            select(DocRow.path)
            .where(
                DocRow.space_id == space_id,
                or_(
                    DocRow.path.in_(parent_directories(path)),
                    DocRow.path.startswith(path + "/", autoescape=True),
                ),
            )
            .order_by(DocRow.path)
            .limit(1)
        )

    def _row(self, space_id: int, path: str) -> DocRow | None:
        return self._session.scalar(
            select(DocRow).where(DocRow.space_id == space_id, DocRow.path == path)
        )
